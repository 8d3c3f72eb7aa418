// Plain HTTP servers on loopback that stand in for upstream servers: each counts what it served,
// can be made slow, failing or silent, killed (refused connections from then on) and brought
// back on the same port. Health-check probes (`/health`) are counted apart from traffic.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Backend {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  /** Requests served other than probes, by method. */
  readonly hits: Map<string, number>;
  /** All requests other than probes. */
  total(): number;
  probes: number;
  /** Applied to every request other than a probe. */
  delayMs: number;
  status: number;
  /** answer; reset: close the connection instead; cut: send the head and part of the body, then close. */
  mode: 'answer' | 'reset' | 'cut';
  /** `/health` answers this; 0 = never answers. */
  healthStatus: number;
  /** Close every connection and stop listening: new connections are refused. */
  kill(): Promise<void>;
  /** Listen again on the same port. */
  restart(): Promise<void>;
}

export async function startBackend(name: string, opts: { delayMs?: number; status?: number; port?: number } = {}): Promise<Backend> {
  let server: http.Server | undefined;
  const b: Backend = {
    name,
    port: 0,
    url: '',
    hits: new Map(),
    total: () => [...b.hits.values()].reduce((n, v) => n + v, 0),
    probes: 0,
    delayMs: opts.delayMs ?? 0,
    status: opts.status ?? 200,
    mode: 'answer',
    healthStatus: 200,
    kill: async () => {
      const s = server;
      server = undefined;
      if (!s) return;
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      s.closeAllConnections();
      await closed;
    },
    restart: async () => {
      server = await listen(b, b.port);
    },
  };
  server = await listen(b, opts.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  Object.assign(b, { port, url: `http://127.0.0.1:${port}` });
  return b;
}

async function listen(b: Backend, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url === '/health') {
      b.probes++;
      if (b.healthStatus !== 0) res.writeHead(b.healthStatus).end();
      return;
    }
    b.hits.set(req.method ?? '', (b.hits.get(req.method ?? '') ?? 0) + 1);
    const answer = () => {
      if (b.mode === 'reset') return void req.socket.destroy();
      if (b.mode === 'cut') {
        res.writeHead(b.status, { 'x-backend': b.name, 'content-length': 1000 });
        res.write('x'.repeat(100));
        setTimeout(() => req.socket.destroy(), 20);
        return;
      }
      // One write for head and body: a kill lands before or after a whole response, never inside.
      res.writeHead(b.status, { 'x-backend': b.name, 'content-type': 'text/plain' }).end(b.name);
    };
    req.resume();
    if (b.delayMs > 0) setTimeout(answer, b.delayMs);
    else answer();
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

export async function stopAll(backends: readonly Backend[]): Promise<void> {
  await Promise.all(backends.map((b) => b.kill()));
}
