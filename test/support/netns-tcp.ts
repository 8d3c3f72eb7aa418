// One plain TCP transfer across a netns bed with `netns-transfer.ts`: a sink in the endpoint
// namespace, a sender in the edge namespace, optionally both wrapped (`mptcpize run` for MPTCP).
import type { NetnsBed } from './netns-bed.ts';
import { nodeBin } from './netns-process.ts';

export interface TcpTransfer {
  mbit: number;
  bytes: number;
  /** The sink got exactly the bytes the sender hashed. */
  intact: boolean;
  maxGapMs: number;
  /** Bytes the edge sent on each path's device meanwhile (headers included). */
  onPaths: number[];
}

const script = 'test/support/netns-transfer.ts';

export async function tcpTransfer(
  bed: NetnsBed,
  o: { host: string; port?: number; bind?: string; bytes: number; wrap?: readonly string[]; sinkPort?: number },
): Promise<TcpTransfer> {
  const wrap = o.wrap ?? [];
  const sink = bed.spawn(bed.endpoint, [...wrap, nodeBin, script, 'sink', '--port', String(o.sinkPort ?? 0)]);
  try {
    const { port } = await sink.waitFor((l) => l.event === 'listening');
    const before = bed.paths.map((p) => bed.txBytes(bed.edge, p.dev));
    const send = bed.spawn(bed.edge, [
      ...wrap, nodeBin, script, 'send', '--to', `${o.host}:${o.port ?? port}`, '--bytes', String(o.bytes), ...(o.bind ? ['--bind', o.bind] : []),
    ]);
    const received = await sink.waitFor((l) => l.event === 'received' || l.event === 'error', { ms: 60_000 });
    const sent = await send.waitFor((l) => l.event === 'sent' || l.event === 'error', { ms: 10_000 });
    return {
      mbit: Number(received.mbit),
      bytes: Number(received.bytes),
      intact: received.event === 'received' && sent.event === 'sent' && received.sha256 === sent.sha256 && received.bytes === o.bytes,
      maxGapMs: Number(received.maxGapMs),
      onPaths: bed.paths.map((p, i) => bed.txBytes(bed.edge, p.dev) - before[i]!),
    };
  } finally {
    await sink.stop();
  }
}
