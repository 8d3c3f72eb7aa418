// The bed and the link emulator themselves: tbf really shapes each path (a plain TCP transfer
// per path lands near the configured rate, far below the unshaped veth), the emulator's delay
// shows in the round trip, jitter keeps the byte stream in order, and a blackhole stops traffic
// without closing the connection until it is restored.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startLinkEmulator } from '../support/link-emulator.ts';
import { createBed, type NetnsBed } from '../support/netns-bed.ts';
import { tcpTransfer } from '../support/netns-tcp.ts';

const transfer = 'test/support/netns-transfer.ts';

function plainTransfer(bed: NetnsBed, index: number, bytes: number) {
  const path = bed.paths[index]!;
  return tcpTransfer(bed, { host: path.endpointAddr, bind: path.edgeAddr, bytes });
}

/** Round trips of a small message over `socket` (which must echo), median in ms. */
async function medianRtt(socket: net.Socket, n = 15): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    socket.write('x');
    await new Promise((resolve) => socket.once('data', resolve));
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(n / 2)]!;
}

async function connect(host: string, port: number): Promise<net.Socket> {
  const socket = net.connect({ host, port, noDelay: true });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

t.test('tbf shapes each of three paths to its rate', async (t) => {
  const bed = await createBed(t, { paths: 3, rateMbit: 100 });
  for (const path of bed.paths) {
    const r = await plainTransfer(bed, path.index, 25e6);
    t.ok(r.intact, `${path.dev}: transfer intact`);
    // TCP over a 100 Mbit/s tbf carries ~95 Mbit/s of payload (headers); unshaped veth, Gbit/s.
    t.ok(r.mbit > 75 && r.mbit < 101, `${path.dev}: ${r.mbit.toFixed(1)} Mbit/s within 75–101`);
    t.ok(r.onPaths[path.index]! >= 25e6, `${path.dev}: the bytes crossed ${path.dev} (${r.onPaths[path.index]} on the device)`);
  }
  bed.shape(1, 20);
  const slow = await plainTransfer(bed, 1, 5e6);
  t.ok(slow.mbit > 14 && slow.mbit < 21, `p1 reshaped to 20 Mbit/s: ${slow.mbit.toFixed(1)} Mbit/s`);
  bed.shape(1, null);
  const free = await plainTransfer(bed, 1, 100e6);
  t.ok(free.mbit > 300, `p1 unshaped: ${free.mbit.toFixed(0)} Mbit/s (tbf was what held it)`);
});

t.test('link emulator: delay, jitter in order, blackhole and restore', async (t) => {
  const bed = await createBed(t, { paths: 2, rateMbit: 100 });
  const echo = bed.node(bed.endpoint, transfer, ['echo']);
  const { port: echoPort } = await echo.waitFor((l) => l.event === 'listening');
  const link = await startLinkEmulator(bed, 0, Number(echoPort));
  t.teardown(() => link.close());

  const socket = await connect(link.rootHost, link.port);
  t.teardown(() => socket.destroy());
  const base = await medianRtt(socket);
  t.ok(base < 10, `no delay: RTT ${base.toFixed(2)} ms`);
  await link.set({ delayMs: 25 });
  const delayed = await medianRtt(socket);
  t.ok(delayed >= 50 && delayed < 50 + base + 25, `25 ms each way: RTT ${delayed.toFixed(1)} ms (base ${base.toFixed(2)})`);

  // Jitter larger than the gap between chunks would reorder them if the relay let it.
  await link.set({ delayMs: 5, jitterMs: 5 });
  const sink = bed.node(bed.endpoint, transfer, ['sink']);
  const { port: sinkPort } = await sink.waitFor((l) => l.event === 'listening');
  const jittery = await startLinkEmulator(bed, 1, Number(sinkPort), { delayMs: 5, jitterMs: 5 });
  t.teardown(() => jittery.close());
  const payload = randomBytes(4 << 20);
  const up = await connect(jittery.rootHost, jittery.port);
  for (let i = 0; i < payload.length; i += 1500) up.write(payload.subarray(i, i + 1500));
  up.end();
  const got = await sink.waitFor((l) => l.event === 'received', { ms: 20_000 });
  t.equal(got.sha256, createHash('sha256').update(payload).digest('hex'), 'jitter: bytes arrive in order and intact');

  await link.set({ delayMs: 0, jitterMs: 0 });
  t.ok((await medianRtt(socket, 3)) < 10, 'delay removed at run time');
  await link.blackhole();
  let echoed = 0;
  let closed = false;
  const onData = (d: Buffer) => (echoed += d.length);
  socket.on('data', onData);
  socket.once('close', () => (closed = true));
  const forwardedBefore = (await link.stats()).forwardedBytes;
  socket.write(randomBytes(64 << 10));
  await sleep(700);
  const held = await link.stats();
  t.equal(echoed, 0, 'blackhole: nothing comes back');
  t.equal(held.forwardedBytes, forwardedBefore, 'blackhole: nothing is forwarded');
  t.notOk(closed, 'blackhole: the connection is not closed (no FIN, no RST)');

  // A connection made across the cut gets nowhere either, until the restore.
  const late = await connect(link.rootHost, link.port);
  t.teardown(() => late.destroy());
  let lateEcho = 0;
  late.on('data', (d: Buffer) => (lateEcho += d.length));
  late.write('hello');
  await sleep(300);
  t.equal(lateEcho, 0, 'blackhole: a new connection is not carried');

  await link.restore();
  const deadline = Date.now() + 5000;
  while ((echoed < 64 << 10 || lateEcho < 5) && Date.now() < deadline) await sleep(20);
  t.equal(echoed, 64 << 10, 'restore: what was held is delivered');
  t.equal(lateEcho, 5, 'restore: the waiting connection is carried');
  socket.off('data', onData);
  t.ok((await medianRtt(socket, 3)) < 10, 'restore: round trips as before');
});
