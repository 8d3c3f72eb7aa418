// Two session engines joined by two real TLS 1.3 channels on loopback, with the test holding
// back what one side reads, so acks and probe answers arrive late and in a burst, as on a
// loaded host. Whatever the order they come in, the session must carry on by itself: no stream
// may wait for a wake-up that nothing will send.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import t, { type Test } from 'tap';
import type { BondStream } from '../../plugins/bonding-upstream/bond-stream.ts';
import { TlsChannel } from '../../plugins/bonding-upstream/channel.ts';
import { Path } from '../../plugins/bonding-upstream/path.ts';
import { Session, type SessionSettings } from '../../plugins/bonding-upstream/session.ts';
import { makeTestCert } from '../support/test-cert.ts';
import { until } from './support.ts';

const FRAME = 32_768;
const BODY = randomBytes(8 << 20);
const BODY_SHA = createHash('sha256').update(BODY).digest('hex');

interface Tuning {
  streamWindow?: number;
  sessionWindow?: number;
  stallTimeoutMs?: number;
}

function settings(role: 'edge' | 'endpoint', o: Tuning): SessionSettings {
  // By default, windows far above the body: the receiver never sends WINDOW, so nothing but
  // acks and probe answers can wake the sender up.
  return {
    name: 'main', role, mode: 'active-active', autoWeights: false, failbackMs: 500, frameBytes: FRAME,
    streamWindow: o.streamWindow ?? 64 << 20, sessionWindow: o.sessionWindow ?? 64 << 20, maxStreams: 16,
    stallTimeoutMs: o.stallTimeoutMs ?? 60_000,
    probe: { intervalMs: 50, downAfterMs: 20_000, degradedRttMs: 0, degradedLoss: 0.2 },
  };
}

const paths = (): Path[] => ['a', 'b'].map((name, i) => new Path({ name, remote: `peer-${name}`, weight: 1, cost: 1, priority: i }));

interface Pair {
  sender: Session;
  receiver: Session;
  /** The sender's end of each channel: pausing it holds back everything the receiver sends. */
  senderSockets: TLSSocket[];
  /** The receiver's side of the first stream the sender opens (accepted). */
  opened: Promise<BondStream>;
}

async function pair(t: Test, o: Tuning = {}): Promise<Pair> {
  const cert = makeTestCert(['bond']);
  const server = tls.createServer({ cert: cert.cert, key: cert.key, minVersion: 'TLSv1.3' });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const sender = new Session('s', settings('edge', o), paths(), {});
  let opened: (s: BondStream) => void = () => {};
  const receiver = new Session('s', settings('endpoint', o), paths(), {
    open: (s) => {
      receiver.accept(s);
      opened(s);
    },
  });
  for (const side of [sender, receiver]) side.setPeerWindows(sender.settings.streamWindow, sender.settings.sessionWindow);
  const senderSockets: TLSSocket[] = [];
  for (let i = 0; i < 2; i++) {
    const accepted = once(server, 'secureConnection') as Promise<[TLSSocket]>;
    const c = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, minVersion: 'TLSv1.3' });
    await once(c, 'secureConnect');
    const [s] = await accepted;
    senderSockets.push(c);
    sender.attach(sender.paths[i]!, new TlsChannel(c, FRAME, FRAME + 64));
    receiver.attach(receiver.paths[i]!, new TlsChannel(s, FRAME, FRAME + 64));
  }
  t.teardown(() => {
    sender.close('test over');
    receiver.close('test over');
    server.close();
  });
  return { sender, receiver, senderSockets, opened: new Promise((r) => (opened = r)) };
}

function sha256Of(s: BondStream): Promise<string> {
  const h = createHash('sha256');
  s.on('data', (c: Buffer) => h.update(c));
  return new Promise((resolve) => s.on('end', () => resolve(h.digest('hex'))));
}

t.test('both paths stall, then one answers its probe: sending resumes with nothing else to wake it', async (t) => {
  const { sender, senderSockets, opened } = await pair(t);
  const stream = await sender.open('origin', 80);
  const received = opened.then(sha256Of);
  stream.end(BODY);
  // The sender hears nothing: no acks, no probe answers. Every path it filled stalls.
  for (const s of senderSockets) s.pause();
  await until(() => sender.paths.every((p) => p.stalled), 5000, 'both paths stalled');
  // Path a's backlog arrives at once: acks for everything sent (the receiver acks on both
  // channels), then answers to probes sent after the stall. Path b stays silent.
  senderSockets[0]!.resume();
  const got = await Promise.race([
    received,
    new Promise<string | undefined>((r) => setTimeout(() => r(undefined), 15_000).unref()),
  ]);
  if (!got) t.comment(JSON.stringify(sender.describe()));
  t.equal(got, BODY_SHA, 'the body arrives intact over the path that came back');
  senderSockets[1]!.resume();
});

t.test('a stream that can move nothing is reset after stallTimeoutMs, and both ends see it', async (t) => {
  const { sender, receiver, opened } = await pair(t, { streamWindow: 65_536, stallTimeoutMs: 1000 });
  const stream = await sender.open('origin', 80);
  const far = await opened;
  const farError = once(far, 'error') as Promise<[Error & { code?: string }]>;
  // Nobody reads at the far end: the sender spends the stream's credit, then waits for good.
  stream.write(Buffer.alloc(256 * 1024));
  const [err] = (await once(stream, 'error')) as [Error & { code?: string }];
  t.equal(err.code, 'WEAVER_ERR_BOND_STALLED', 'the writer gets a stall error');
  t.equal(sender.describe().stalledStreams, 1, 'counted');
  const [farErr] = await farError;
  t.equal(farErr.code, 'WEAVER_ERR_BOND_RESET', 'the far end is reset');
  await until(() => sender.streams.size === 0 && receiver.streams.size === 0, 5000, 'streams gone');
  t.pass('no stream left at either end');
});

t.test('a reset after the far end closed cleanly still returns its session credit', async (t) => {
  const window = 256 * 1024;
  const { sender, receiver, opened } = await pair(t, { sessionWindow: window, streamWindow: 1 << 20 });
  const stream = await sender.open('origin', 80);
  const far = await opened;
  far.resume();
  far.end(Buffer.alloc(200 * 1024));
  stream.end();
  // The far end sent everything and heard our end: it closes cleanly. We never read its bytes.
  await until(() => receiver.streams.size === 0, 5000, 'far stream closed');
  t.ok(receiver.describe().sendCreditBytes < window, 'its bytes hold session credit');
  stream.destroy(new Error('client went away'));
  await until(() => receiver.describe().sendCreditBytes === window, 5000, 'credit back');
  t.pass('the far end answered with its final size: the whole window is back');
});
