// A loopback TCP server that reads each connection's ClientHello with readClientHello, as the
// proxy will, and queues the outcome for the test. After a hello it can hand the socket on to a
// tls.Server (unshift + 'connection'), or just close it.
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type tls from 'node:tls';
import { readClientHello } from '../../proxy/clienthello/read-hello.ts';
import type { ReadHelloResult } from '../../proxy/clienthello/read-hello.ts';

export type Capture = ({ ok: true } & ReadHelloResult) | { ok: false; error: unknown };

export interface CaptureServer {
  port: number;
  /** The outcome of the next connection's hello, in accept order. */
  next(): Promise<Capture>;
  close(): Promise<void>;
}

export interface CaptureOptions {
  maxBytes?: number;
  timeoutMs?: number;
  /** Continue the handshake here after a hello; otherwise the socket is destroyed. */
  handoff?: tls.Server;
  /** Called with the socket right after the hello was read, before any handoff. */
  inspect?: (socket: Socket, capture: Capture) => void;
}

export async function startCaptureServer(opts: CaptureOptions = {}): Promise<CaptureServer> {
  const ready: Capture[] = [];
  const waiting: ((c: Capture) => void)[] = [];
  const sockets = new Set<Socket>();
  const deliver = (c: Capture): void => {
    const w = waiting.shift();
    if (w) w(c);
    else ready.push(c);
  };
  const server = net.createServer((socket) => {
    const acceptedAt = performance.now();
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {}); // clients are killed mid-handshake on purpose
    readClientHello(socket, { maxBytes: opts.maxBytes ?? 16384, timeoutMs: opts.timeoutMs ?? 5000, acceptedAt }).then(
      (result) => {
        const capture: Capture = { ok: true, ...result };
        opts.inspect?.(socket, capture);
        if (opts.handoff) {
          socket.unshift(result.hello.raw);
          opts.handoff.emit('connection', socket);
        } else socket.destroy();
        deliver(capture);
      },
      (error: unknown) => {
        const capture: Capture = { ok: false, error };
        opts.inspect?.(socket, capture);
        socket.destroy();
        deliver(capture);
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    next: () => new Promise<Capture>((resolve) => {
      const c = ready.shift();
      if (c) resolve(c);
      else waiting.push(resolve);
    }),
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** Connects to a loopback port and writes `chunks`, waiting `gapMs` between them. */
export async function dripTo(port: number, chunks: Buffer[], gapMs: number, end = false): Promise<Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  for (const [i, chunk] of chunks.entries()) {
    if (socket.destroyed) break;
    if (i > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
    socket.write(chunk);
  }
  if (end && !socket.destroyed) socket.end();
  return socket;
}
