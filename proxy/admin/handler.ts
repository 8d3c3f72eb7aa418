// What the admin API answers, apart from HTTP: a call in, a reply out. Plain data both ways, so
// a cluster primary can hand a call to a worker over IPC and relay the reply unchanged.
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import { WeaverError } from '../errors.ts';
import type { AdminRoutes } from './routes.ts';

export interface AdminCall {
  method: string;
  /** Path and query as received, e.g. `/api/plugins/x/seen?limit=5`. */
  url: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, or undefined. */
  body: unknown;
  /** 'token' when a bearer token was checked, 'loopback' otherwise. */
  caller: string;
}

export interface AdminReply {
  status: number;
  /** A string goes out as text/plain (unless a content-type header says otherwise), anything else as JSON. */
  body: unknown;
  headers?: Record<string, string>;
}

export type AdminHandle = (call: AdminCall) => Promise<AdminReply>;

export interface AdminSources {
  metrics(): Promise<AdminReply>;
  ready(): boolean;
  /** Core read-only endpoints: path → JSON value. */
  get: Record<string, () => unknown>;
  /** Core actions: path → reply (they choose their own status, e.g. 422 for a refused reload). */
  post: Record<string, (body: unknown) => Promise<AdminReply>>;
  /** Everything else: plugin routes in a Weaver, the workers in a cluster primary. */
  other(call: AdminCall, url: URL): Promise<AdminReply>;
}

export function notFound(method: string, pathname: string): AdminReply {
  return { status: 404, body: { error: `no route ${method} ${pathname}`, code: 'WEAVER_ERR_ADMIN_NOT_FOUND' } };
}

export function createAdminHandler(sources: AdminSources, log: Logger): AdminHandle {
  return async (call) => {
    const url = new URL(call.url, 'http://admin');
    const { method } = call;
    try {
      if (method === 'GET' && url.pathname === '/healthz') return { status: 200, body: 'ok\n' };
      if (method === 'GET' && url.pathname === '/readyz') {
        return sources.ready() ? { status: 200, body: 'ready\n' } : { status: 503, body: 'not ready\n' };
      }
      if (method === 'GET' && url.pathname === '/metrics') return await sources.metrics();
      const get = method === 'GET' ? sources.get[url.pathname] : undefined;
      if (get) return { status: 200, body: await get() };
      const post = method === 'POST' ? sources.post[url.pathname] : undefined;
      if (post) return await post(call.body);
      return await sources.other(call, url);
    } catch (err) {
      const code = err instanceof WeaverError ? err.code : 'WEAVER_ERR_ADMIN';
      log.warn({ err, method, path: url.pathname }, 'admin request failed');
      return { status: code === 'WEAVER_ERR_ADMIN_BODY' ? 400 : 500, body: { error: (err as Error).message, code } };
    }
  };
}

/** A plugin's own route, mounted under /api/plugins/<plugin>/. */
export async function pluginRoute(routes: AdminRoutes, call: AdminCall, url: URL): Promise<AdminReply> {
  const route = routes.match(call.method, url.pathname);
  if (!route) return notFound(call.method, url.pathname);
  const out = await route.handler({
    method: call.method,
    path: route.path,
    query: url.searchParams,
    headers: call.headers,
    body: call.body,
    caller: call.caller,
  });
  return { status: out.status ?? 200, body: out.body ?? '', ...(out.headers ? { headers: out.headers } : {}) };
}
