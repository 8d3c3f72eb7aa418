// A small HTTP/1.1 origin built in, so a first run (and the tests) have something to proxy to:
//   GET /           hello, plus what this hop saw (JSON with Accept: application/json)
//   GET /headers    every request header, as JSON
//   *   /echo       the request body streamed back
//   GET /bytes/N    N bytes (N ≤ 64 MiB), streamed
//   GET /status/N   an empty-ish response with status N (200–599)
//   GET /delay/MS   answers after MS ms (≤ 30 s)
//   GET /ws         a WebSocket echo
// Every response names the origin that made it in `x-demo-origin: address:port`.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream';
import { acceptWebSocket } from './demo-ws-echo.ts';

export const DEMO_MAX_BYTES = 64 * 1024 * 1024;
export const DEMO_MAX_DELAY_MS = 30_000;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

export interface DemoOrigin {
  readonly server: http.Server;
  readonly port: number;
  close(): Promise<void>;
}

export async function startDemoOrigin(opts: { address: string; port: number }): Promise<DemoOrigin> {
  const tunnels = new Set<Duplex>();
  const server = http.createServer((req, res) => {
    // Which origin answered, for balancing demos and tests.
    res.setHeader('x-demo-origin', origin());
    route(req, res, origin());
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (pathOf(req) !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    tunnels.add(socket);
    socket.once('close', () => tunnels.delete(socket));
    acceptWebSocket(req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const origin = () => `${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
  return {
    server,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of tunnels) socket.destroy();
      }),
  };
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function route(req: IncomingMessage, res: ServerResponse, origin: string): void {
  const path = pathOf(req);
  const [, first = '', arg] = path.split('/');
  if (path === '/') return hello(req, res, origin);
  if (path === '/headers') return json(res, 200, { headers: req.headers });
  if (path === '/echo') return echo(req, res);
  const n = arg !== undefined && /^\d{1,9}$/.test(arg) ? Number(arg) : NaN;
  if (first === 'bytes' && n <= DEMO_MAX_BYTES) return bytes(res, n);
  if (first === 'status' && n >= 200 && n <= 599) return status(res, n);
  if (first === 'delay' && n <= DEMO_MAX_DELAY_MS) return delay(res, n);
  json(res, 404, { error: 'not found', path });
}

function hello(req: IncomingMessage, res: ServerResponse, origin: string): void {
  const h = req.headers;
  const seen = {
    message: 'Hello from the Weaver demo origin',
    origin,
    method: req.method,
    path: req.url,
    httpVersion: req.httpVersion,
    xForwardedFor: h['x-forwarded-for'],
    xForwardedProto: h['x-forwarded-proto'],
    xForwardedHost: h['x-forwarded-host'],
    forwarded: h.forwarded,
    requestId: h['x-request-id'],
  };
  if ((h.accept ?? '').includes('application/json')) return json(res, 200, seen);
  const lines = Object.entries(seen)
    .filter(([k, v]) => k !== 'message' && v !== undefined)
    .map(([k, v]) => `${k}: ${String(v)}`);
  const body = `${seen.message}\n\n${lines.join('\n')}\n`;
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function echo(req: IncomingMessage, res: ServerResponse): void {
  const headers: http.OutgoingHttpHeaders = { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' };
  if (req.headers['content-length'] !== undefined) headers['content-length'] = req.headers['content-length'];
  res.writeHead(200, headers);
  pipeline(req, res, () => {});
}

function bytes(res: ServerResponse, n: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
  let left = n;
  const pump = (): void => {
    while (left > 0) {
      const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
      left -= chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  res.once('close', () => {
    left = 0;
  });
  pump();
}

function status(res: ServerResponse, code: number): void {
  if (code === 204 || code === 304) {
    res.writeHead(code);
    res.end();
    return;
  }
  json(res, code, { status: code });
}

function delay(res: ServerResponse, ms: number): void {
  const timer = setTimeout(() => json(res, 200, { delayedMs: ms }), ms);
  res.once('close', () => clearTimeout(timer));
}

function json(res: ServerResponse, code: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
