// The link emulator's process: a TCP relay for one path, run inside the edge namespace
// (`link-emulator.ts` starts and drives it). This kernel has no netem, so delay, jitter and a
// cut cable are made here, in user space:
//
// - every chunk read is forwarded after delay ± jitter (one way, in each direction), never
//   before the chunk ahead of it, so the byte stream keeps its order;
// - a blackhole stops forwarding and stops reading in both directions without closing anything
//   (no FIN, no RST): the sender's window fills and it hears nothing, as when a cable is cut.
//   Connections accepted meanwhile wait, unconnected, for the restore;
// - restore resumes both, delivering what was held.
//
// Usage: link-relay.ts --target HOST:PORT [--bind ADDR] [--port P] [--delay MS] [--jitter MS]
// Prints {"event":"listening","port"}; reads commands as JSON lines on stdin —
// {"id","cmd":"set","delayMs","jitterMs"} | {"id","cmd":"blackhole"} | {"id","cmd":"restore"} |
// {"id","cmd":"stats"} — and answers each with {"event":"ack","id",…stats}.
import net, { type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    bind: { type: 'string' },
    port: { type: 'string', default: '0' },
    delay: { type: 'string', default: '0' },
    jitter: { type: 'string', default: '0' },
  },
});
const [targetHost, targetPort] = (values.target ?? '').split(/:(?=\d+$)/);
if (!targetHost || !targetPort) throw new Error('link-relay needs --target HOST:PORT');

const state = { delayMs: Number(values.delay), jitterMs: Number(values.jitter), blackholed: false };
/**
 * Bytes held per direction before the relay stops reading: what 1 Gbit/s puts in flight over
 * the delay, plus a little. No more, so the relay adds delay but not a deep queue of its own
 * (a queue would inflate the round trip the bonding probes see and hide the path's rate).
 */
const highWater = () => (256 << 10) + Math.ceil(125_000 * (state.delayMs + state.jitterMs));

const stats = { connections: 0, forwardedBytes: 0, heldBytes: 0 };
const say = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

/** One direction of one connection: src's bytes reach dst after the path's delay. */
class DelayedPipe {
  readonly src: net.Socket;
  readonly dst: net.Socket;
  private readonly queue: { chunk: Buffer; at: number }[] = [];
  private queued = 0;
  private lastAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private waitingDrain = false;
  private ended = false;

  constructor(src: net.Socket, dst: net.Socket) {
    this.src = src;
    this.dst = dst;
    src.on('data', (chunk: Buffer) => this.push(chunk));
    src.on('end', () => {
      this.ended = true;
      this.flush();
    });
    dst.on('drain', () => {
      this.waitingDrain = false;
      this.flush();
    });
  }

  private push(chunk: Buffer): void {
    const jitter = state.jitterMs > 0 ? (Math.random() * 2 - 1) * state.jitterMs : 0;
    // Order is kept: a chunk never leaves before the one read ahead of it.
    const at = Math.max(this.lastAt, performance.now() + Math.max(0, state.delayMs + jitter));
    this.lastAt = at;
    this.queue.push({ chunk, at });
    this.queued += chunk.length;
    stats.heldBytes += chunk.length;
    if (this.queued >= highWater()) this.src.pause();
    this.flush();
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (state.blackholed || this.waitingDrain) return;
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.at <= now) {
      const { chunk } = this.queue.shift()!;
      this.queued -= chunk.length;
      stats.heldBytes -= chunk.length;
      stats.forwardedBytes += chunk.length;
      if (!this.dst.write(chunk)) {
        this.waitingDrain = true;
        break;
      }
    }
    if (this.queue.length > 0) {
      if (!this.waitingDrain) this.timer = setTimeout(() => this.flush(), Math.max(1, this.queue[0]!.at - now));
    } else if (this.ended) {
      this.dst.end();
    }
    if (!this.waitingDrain && this.queued < highWater() && this.src.isPaused()) this.src.resume();
  }

  hold(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.src.pause();
  }
}

const pipes = new Set<DelayedPipe>();
const waiting = new Set<() => void>();

function connectUpstream(client: net.Socket): void {
  const upstream = net.connect({ host: targetHost, port: Number(targetPort), localAddress: values.bind, noDelay: true, allowHalfOpen: true });
  const up = new DelayedPipe(client, upstream);
  const down = new DelayedPipe(upstream, client);
  pipes.add(up).add(down);
  // A FIN travels as the end of its pipe (after the bytes held before it); an error or reset
  // takes both sides down at once.
  const fail = () => {
    client.destroy();
    upstream.destroy();
  };
  const closed = () => {
    if (!client.destroyed || !upstream.destroyed) return;
    pipes.delete(up);
    pipes.delete(down);
  };
  client.on('error', fail).on('close', closed);
  upstream.on('error', fail).on('close', closed);
  client.resume();
}

const server = net.createServer({ noDelay: true, pauseOnConnect: true, allowHalfOpen: true }, (client) => {
  stats.connections++;
  if (!state.blackholed) return connectUpstream(client);
  // Across a cut cable a new connection gets nowhere: it waits here until the restore.
  const go = () => connectUpstream(client);
  waiting.add(go);
  client.once('close', () => waiting.delete(go));
});
server.listen(Number(values.port), '0.0.0.0', () => say({ event: 'listening', port: (server.address() as AddressInfo).port }));

createInterface({ input: process.stdin }).on('line', (line) => {
  let cmd: { id?: unknown; cmd?: unknown; delayMs?: unknown; jitterMs?: unknown };
  try {
    cmd = JSON.parse(line) as typeof cmd;
  } catch {
    return say({ event: 'error', message: 'not JSON' });
  }
  if (cmd.cmd === 'set') {
    if (typeof cmd.delayMs === 'number' && cmd.delayMs >= 0) state.delayMs = cmd.delayMs;
    if (typeof cmd.jitterMs === 'number' && cmd.jitterMs >= 0) state.jitterMs = cmd.jitterMs;
  } else if (cmd.cmd === 'blackhole') {
    state.blackholed = true;
    for (const p of pipes) p.hold();
  } else if (cmd.cmd === 'restore') {
    state.blackholed = false;
    for (const go of waiting) go();
    waiting.clear();
    // flush() also resumes reading once a pipe holds less than its high-water mark.
    for (const p of pipes) p.flush();
  } else if (cmd.cmd !== 'stats') {
    return say({ event: 'error', id: cmd.id, message: `unknown command ${String(cmd.cmd)}` });
  }
  say({ event: 'ack', id: cmd.id, ...state, ...stats });
});
// The test's end closes stdin: the relay goes with it.
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
