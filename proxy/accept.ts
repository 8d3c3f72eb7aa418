// The life of one client connection up to the handshake pool:
//   accept → onConnection → read the ClientHello (bounded) → onClientHello → pool (or passthrough).
// Hooks are only awaited when they return a promise; with no plugin nothing here allocates one
// except the hello read itself.
import net, { type Socket } from 'node:net';
import { ClientHelloError } from './errors.ts';
import { Connection } from './connection.ts';
import { readClientHelloBytes } from './clienthello/read-hello.ts';
import { Alert, sendAlertAndClose, sendPlainHttpHint } from './handshake/alert.ts';
import { tapSocket } from './handshake/packet-tap.ts';
import { relay } from './handshake/pipe.ts';
import type { ListenerConfig } from './config/schema.ts';
import { CONTINUED, type Outcome } from './hooks/runner.ts';
import type { Runtime } from './runtime.ts';

const HTTP_METHOD = /^(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH|CONNECT|TRACE|PRI) /;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function acceptConnection(raw: Socket, listener: ListenerConfig, rt: Runtime): Connection {
  raw.setNoDelay(true);
  const conn = new Connection(raw, listener.name, rt.log);
  rt.track(conn);
  const perListener = rt.metrics.listener(listener.name);
  perListener.accepted.inc();
  perListener.active.inc();
  raw.on('error', (err: NodeJS.ErrnoException) => {
    conn.error ??= err.code ?? err.message;
  });
  raw.once('close', () => rt.finish(conn));
  drive(raw, conn, listener, rt).catch((err: unknown) => {
    conn.outcome = 'error';
    conn.error = (err as Error).message;
    conn.log.error({ err }, 'connection failed');
    raw.destroy();
  });
  return conn;
}

function reject(conn: Connection, rt: Runtime, phase: string, reason: string, alert: boolean): void {
  conn.outcome = 'rejected';
  conn.error = reason;
  rt.metrics.connectionsRejected.inc({ listener: conn.listener, phase });
  conn.log.info({ phase, reason }, 'connection rejected');
  if (alert) sendAlertAndClose(conn.socket, Alert.accessDenied);
  else conn.socket.destroy();
}

async function drive(raw: Socket, conn: Connection, listener: ListenerConfig, rt: Runtime): Promise<void> {
  const connected = rt.hooks.connection(conn);
  const first: Outcome = connected instanceof Promise ? await connected : connected;
  if (first.decision.action === 'reject') return reject(conn, rt, 'connection', first.decision.reason, false);
  if (first.delayMs > 0) await sleep(first.delayMs);
  if (raw.destroyed) return;

  let read;
  try {
    read = await readClientHelloBytes(raw, {
      maxBytes: listener.clientHello.maxBytes,
      timeoutMs: listener.clientHello.timeoutMs,
      acceptedAt: conn.acceptedMark,
    });
  } catch (err) {
    return helloFailed(raw, conn, rt, err);
  }
  // Only plugins read `conn.hello`: with none, the bytes are not kept for the connection's life.
  if (rt.hooks.any) conn.setHelloBytes(read.raw, read.arrival);

  let outcome: Outcome = CONTINUED;
  if (rt.hooks.has('onClientHello')) {
    let hello;
    try {
      hello = conn.parseHello();
    } catch (err) {
      return helloFailed(raw, conn, rt, err);
    }
    const said = rt.hooks.clientHello(conn, hello);
    outcome = said instanceof Promise ? await said : said;
  }
  const decision = outcome.decision;
  if (decision.action === 'reject') return reject(conn, rt, 'clienthello', decision.reason, true);

  if (decision.action === 'passthrough') {
    if (outcome.delayMs > 0) await sleep(outcome.delayMs);
    return passthrough(raw, conn, rt, decision.upstream, read.raw);
  }

  const poolName = decision.action === 'route' ? decision.pool : listener.pool;
  const pool = rt.pools.get(poolName);
  if (!pool) return reject(conn, rt, 'clienthello', `no handshake pool named "${poolName}"`, true);
  const delayMs = outcome.delayMs + (pool.kind === 'local' ? pool.config.delayMs : 0);
  if (delayMs > 0) await sleep(delayMs);
  if (raw.destroyed) return;

  const judge = rt.hooks.has('onPacket') ? (chunk: Uint8Array, dir: 'in' | 'out') => rt.hooks.packet(conn, chunk, dir) : undefined;
  const onCut = () => {
    conn.outcome = 'cut';
    conn.error ??= 'cut by onPacket';
  };
  if (pool.kind === 'remote') return pool.take(raw, conn, read.raw, judge && ((c, d) => (judge(c, d) ? (onCut(), true) : false)));
  if (judge) return pool.take(tapSocket(raw, read.raw, judge, onCut), conn);
  raw.unshift(read.raw);
  pool.take(raw, conn);
}

function helloFailed(raw: Socket, conn: Connection, rt: Runtime, err: unknown): void {
  const code = err instanceof ClientHelloError ? err.code : 'WEAVER_ERR_HELLO_MALFORMED';
  conn.outcome = code === 'WEAVER_ERR_HELLO_TIMEOUT' ? 'timeout' : 'hello_error';
  conn.error = code;
  rt.metrics.helloErrors.inc({ listener: conn.listener, code });
  conn.log.info({ code, reason: (err as Error).message }, 'ClientHello refused');
  if (raw.destroyed) return;
  const seen = err instanceof ClientHelloError ? err.received : undefined;
  if (code === 'WEAVER_ERR_HELLO_NOT_TLS' && seen && HTTP_METHOD.test(seen.subarray(0, 8).toString('latin1'))) {
    return sendPlainHttpHint(raw);
  }
  if (code === 'WEAVER_ERR_HELLO_NOT_TLS' || code === 'WEAVER_ERR_HELLO_TRUNCATED') raw.destroy();
  else sendAlertAndClose(raw, code === 'WEAVER_ERR_HELLO_TIMEOUT' ? Alert.handshakeFailure : Alert.internalError);
}

function passthrough(raw: Socket, conn: Connection, rt: Runtime, upstream: string, hello: Buffer): void {
  const target = rt.passthroughTarget(upstream);
  if (!target) return reject(conn, rt, 'clienthello', `no upstream named "${upstream}" for passthrough`, true);
  conn.pool = `passthrough:${upstream}`;
  const out = net.connect({ host: target.host, port: target.port, noDelay: true });
  out.once('error', (err) => {
    conn.outcome = 'error';
    conn.error = `passthrough: ${err.message}`;
    raw.destroy();
  });
  out.once('connect', () => {
    conn.onCut(() => {
      raw.destroy();
      out.destroy();
    });
    const judge = rt.hooks.has('onPacket') ? (c: Uint8Array, d: 'in' | 'out') => rt.hooks.packet(conn, c, d) : undefined;
    relay(raw, out, hello, judge);
  });
}
