// The admin API on its own listener. Loopback by default; anywhere else it needs a bearer token
// (startup refuses a non-loopback admin without one, see config checks).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { WeaverError } from '../errors.ts';
import type { AdminConfig } from '../config/schema.ts';
import type { AdminRoutes } from './routes.ts';
import type { Registry } from 'prom-client';

const MAX_BODY_BYTES = 1_048_576;

export interface AdminSources {
  routes: AdminRoutes;
  registry: Registry;
  /** Core endpoints: path → JSON producer. Kept by the app so the admin server knows no internals. */
  get: Record<string, () => unknown>;
  post: Record<string, (body: unknown) => unknown>;
  ready(): boolean;
}

export interface AdminServer {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new WeaverError('WEAVER_ERR_ADMIN_BODY', `body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new WeaverError('WEAVER_ERR_ADMIN_BODY', 'body is not valid JSON');
  }
}

export async function startAdminServer(config: AdminConfig, sources: AdminSources, log: Logger): Promise<AdminServer> {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const method = req.method ?? 'GET';
    let caller = 'loopback';
    if (config.token !== undefined) {
      if (!tokenMatches(req.headers.authorization, config.token)) {
        log.warn({ method, path: url.pathname, from: req.socket.remoteAddress }, 'admin request without a valid token');
        return send(res, 401, { error: 'a bearer token is required', code: 'WEAVER_ERR_ADMIN_AUTH' }, { 'www-authenticate': 'Bearer' });
      }
      caller = 'token';
    }
    try {
      if (method === 'GET' && url.pathname === '/metrics') {
        return send(res, 200, await sources.registry.metrics(), { 'content-type': sources.registry.contentType });
      }
      if (method === 'GET' && url.pathname === '/healthz') return send(res, 200, 'ok\n');
      if (method === 'GET' && url.pathname === '/readyz') {
        return sources.ready() ? send(res, 200, 'ready\n') : send(res, 503, 'not ready\n');
      }
      const core = method === 'GET' ? sources.get[url.pathname] : method === 'POST' ? sources.post[url.pathname] : undefined;
      if (core) return send(res, 200, await core(method === 'POST' ? await readJson(req) : undefined));
      const route = sources.routes.match(method, url.pathname);
      if (!route) return send(res, 404, { error: `no route ${method} ${url.pathname}`, code: 'WEAVER_ERR_ADMIN_NOT_FOUND' });
      const body = method === 'GET' || method === 'DELETE' ? undefined : await readJson(req);
      const out = await route.handler({ method, path: route.path, query: url.searchParams, headers: req.headers, body, caller });
      return send(res, out.status ?? 200, out.body ?? '', out.headers);
    } catch (err) {
      const code = err instanceof WeaverError ? err.code : 'WEAVER_ERR_ADMIN';
      const status = code === 'WEAVER_ERR_ADMIN_BODY' ? 400 : code === 'WEAVER_ERR_CONFIG' ? 422 : 500;
      log.warn({ err, method, path: url.pathname }, 'admin request failed');
      if (!res.headersSent) send(res, status, { error: (err as Error).message, code });
      else res.destroy();
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ address: config.address, port }, 'admin API listening');
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
