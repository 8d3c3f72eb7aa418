// Delay, jitter and a cut cable on one path of a netns bed, driven from the test process. The
// relay (`link-relay.ts`) runs in the edge namespace: the edge connects to it instead of the
// endpoint's address, and it connects on to the endpoint over the path's veth (bound to the
// path's edge address), so the bytes still cross that path and its tbf. Commands go over the
// relay's stdin and are acknowledged on its stdout, so no control port is exposed anywhere.
import type { NetnsBed } from './netns-bed.ts';
import type { JsonLine, NetnsProcess } from './netns-process.ts';

export interface LinkSettings {
  /** Added one way, in each direction: the round trip grows by twice this. */
  delayMs?: number;
  /** Each chunk's delay is drawn uniformly in delay ± jitter (order is kept all the same). */
  jitterMs?: number;
}

export interface LinkStats {
  delayMs: number;
  jitterMs: number;
  blackholed: boolean;
  connections: number;
  forwardedBytes: number;
  heldBytes: number;
}

export interface LinkEmulator {
  /** The relay's port: edge processes reach it at the path's edge address (or 127.0.0.1)… */
  readonly port: number;
  /** …and the test process at the edge's root-link address, this. */
  readonly rootHost: string;
  /** The edge address to connect to from inside the edge namespace. */
  readonly edgeHost: string;
  set(settings: LinkSettings): Promise<LinkStats>;
  /** Stops forwarding and reading both ways, closing nothing (a cut cable: no FIN, no RST). */
  blackhole(): Promise<LinkStats>;
  restore(): Promise<LinkStats>;
  stats(): Promise<LinkStats>;
  close(): Promise<void>;
}

const relayScript = 'test/support/link-relay.ts';

/** Starts a relay for path `index` towards the endpoint namespace's `targetPort`. */
export async function startLinkEmulator(bed: NetnsBed, index: number, targetPort: number, settings: LinkSettings = {}): Promise<LinkEmulator> {
  const path = bed.paths[index];
  if (!path) throw new Error(`the bed has no path ${index}`);
  const proc: NetnsProcess = bed.node(bed.edge, relayScript, [
    '--target', `${path.endpointAddr}:${targetPort}`,
    '--bind', path.edgeAddr,
    '--delay', String(settings.delayMs ?? 0),
    '--jitter', String(settings.jitterMs ?? 0),
  ]);
  const listening = await proc.waitFor((l) => l.event === 'listening');
  let nextId = 1;
  const command = async (cmd: JsonLine): Promise<LinkStats> => {
    const id = nextId++;
    const from = proc.lines.length;
    proc.send({ ...cmd, id });
    const ack = await proc.waitFor((l) => l.event === 'ack' && l.id === id, { from, ms: 5000 });
    return ack as unknown as LinkStats;
  };
  return {
    port: Number(listening.port),
    rootHost: bed.rootEdge.edge,
    edgeHost: path.edgeAddr,
    set: (s) => command({ cmd: 'set', ...s }),
    blackhole: () => command({ cmd: 'blackhole' }),
    restore: () => command({ cmd: 'restore' }),
    stats: () => command({ cmd: 'stats' }),
    close: () => proc.stop(),
  };
}
