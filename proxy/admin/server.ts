// The admin API on its own listener: HTTP in, an AdminCall to the handler, its reply out.
// Loopback by default; anywhere else it needs a bearer token (config checks refuse a
// non-loopback admin without one), and then every request must carry it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { WeaverError } from '../errors.ts';
import type { AdminConfig } from '../config/schema.ts';
import type { AdminHandle, AdminReply } from './handler.ts';

const MAX_BODY_BYTES = 1_048_576;
const BODYLESS = new Set(['GET', 'HEAD', 'DELETE']);

export interface AdminServer {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

export interface AdminServerOptions {
  handle: AdminHandle;
  /** Read per request, so a reload that changes the token applies at once. */
  token(): string | undefined;
}

function send(res: ServerResponse, reply: AdminReply): void {
  const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body, null, 2) + '\n';
  res.writeHead(reply.status, {
    'content-type': typeof reply.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'cache-control': 'no-store',
    ...reply.headers,
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

export async function startAdminServer(config: AdminConfig, opts: AdminServerOptions, log: Logger): Promise<AdminServer> {
  const server = createServer(async (req, res) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    let caller = 'loopback';
    const token = opts.token();
    if (token !== undefined) {
      if (!tokenMatches(req.headers.authorization, token)) {
        log.warn({ method, path: url.split('?')[0], from: req.socket.remoteAddress }, 'admin request without a valid token');
        return send(res, {
          status: 401,
          body: { error: 'a bearer token is required', code: 'WEAVER_ERR_ADMIN_AUTH' },
          headers: { 'www-authenticate': 'Bearer' },
        });
      }
      caller = 'token';
    }
    let body: unknown;
    try {
      if (!BODYLESS.has(method)) body = await readJson(req);
    } catch (err) {
      return send(res, { status: 400, body: { error: (err as Error).message, code: 'WEAVER_ERR_ADMIN_BODY' } });
    }
    const reply = await opts.handle({ method, url, headers: req.headers, body, caller });
    if (!res.headersSent) send(res, reply);
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
