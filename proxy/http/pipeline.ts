// The request phases, in order, for HTTP/1.1 and HTTP/2 alike: context → route → onRequest
// (reject, respond, delay) → upstream selection (servers in rotation, balancer, then
// onUpstreamSelect) → dispatch, retried on the next server while allowed (forwarding.ts) →
// onResponse at the headers → body. Each hook is only awaited when it returned a promise, so a
// request that meets no async plugin runs start to finish without allocating one.
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { HttpConfig } from '../config/schema.ts';
import type { Connection } from '../connection.ts';
import type { HookRunner, Outcome } from '../hooks/runner.ts';
import type { CoreMetrics } from '../metrics.ts';
import type { RequestDecision, UpstreamCandidate } from '../plugin/types.ts';
import type { ClientResponse } from '../upstream/dispatch.ts';
import { canRetry } from '../upstream/retry.ts';
import type { UpstreamServer } from '../upstream/server.ts';
import { recordRequest } from './access-log.ts';
import type { BodyLimit } from './body-limit.ts';
import { dropRest, requestBody } from './request-body.ts';
import { errorReply, isProxyErrorCode, writeRawResponse, type ProxyErrorCode } from './error-response.ts';
import { Forwarding, upstreamFailed, type ForwardingOwner } from './forwarding.ts';
import type { H2Request } from './h2-stream.ts';
import { endToEnd } from './hop-by-hop.ts';
import { ProxyRequest, type RoutingTable } from './request-context.ts';
import { requestIdFrom } from './request-id.ts';
import { normalizeHost } from './routes.ts';
import { upstreamRequestHeaders } from './upstream-headers.ts';
import { openTunnel } from './websocket.ts';

export type ClientRequest = IncomingMessage | H2Request;

/** Where the answer goes: a response object, or the raw socket of an upgrade request. */
type Reply =
  | {
      readonly kind: 'http';
      readonly req: ClientRequest;
      readonly res: ClientResponse;
      readonly h2: boolean;
      /** The stream undici reads the request body from, once there is one. */
      body: BodyLimit | null;
    }
  | { readonly kind: 'upgrade'; readonly req: IncomingMessage; readonly socket: Duplex; readonly head: Buffer };

/** nginx's status for a client that left before it got an answer. */
const CLIENT_CLOSED = 499;

export interface PipelineOptions {
  readonly http: HttpConfig;
  readonly hooks: HookRunner;
  readonly log: Logger;
  readonly accessLog: boolean;
  readonly metrics: CoreMetrics;
}

function isThenable<T>(v: T | PromiseLike<T>): v is PromiseLike<T> {
  return typeof (v as { then?: unknown }).then === 'function';
}

export class RequestPipeline implements ForwardingOwner {
  routing: RoutingTable;
  /** Set by the ingress when it stops: HTTP/1.1 answers then close their connection. */
  closing = false;
  /** Set by the ingress when a reload retired it: requests are served, HTTP/1.1 answers close their connection. */
  retiring = false;
  /** Requests from the first byte to the last, tunnels included. */
  active = 0;
  readonly tunnels = new Set<Duplex>();
  onIdle: (() => void) | undefined;
  readonly metrics: CoreMetrics;
  readonly hooks: HookRunner;
  private readonly opts: PipelineOptions;
  /** Kept off the context object so plugins, which get that object, cannot reach req/res. */
  private readonly replies = new WeakMap<ProxyRequest, Reply>();

  constructor(opts: PipelineOptions, routing: RoutingTable) {
    this.opts = opts;
    this.metrics = opts.metrics;
    this.hooks = opts.hooks;
    this.routing = routing;
  }

  handle(req: ClientRequest, res: ClientResponse, conn: Connection): void {
    const h2Request = req.httpVersionMajor === 2;
    const authority = (h2Request ? req.headers[':authority'] : undefined) ?? req.headers.host;
    const pr = this.begin(req, typeof authority === 'string' ? authority : '', conn);
    this.replies.set(pr, { kind: 'http', req, res, h2: h2Request, body: null });
    res.on('close', () => {
      pr.finished = true;
      if (pr.status === 0) pr.status = res.headersSent ? res.statusCode : CLIENT_CLOSED;
      this.end(pr);
    });
    if (this.closing && !h2Request) return this.fail(pr, 'WEAVER_ERR_SHUTTING_DOWN');
    this.start(pr);
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, conn: Connection): void {
    const pr = this.begin(req, req.headers.host ?? '', conn);
    this.replies.set(pr, { kind: 'upgrade', req, socket, head });
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      pr.finished = true;
      // A tunnel ends when both of its sides have closed; it reports that itself.
      if (pr.status === 101) return;
      if (pr.status === 0) pr.status = CLIENT_CLOSED;
      this.end(pr);
    });
    if (this.closing) return this.fail(pr, 'WEAVER_ERR_SHUTTING_DOWN');
    this.start(pr);
  }

  private begin(req: ClientRequest, authority: string, conn: Connection): ProxyRequest {
    conn.requests++;
    this.active++;
    return new ProxyRequest({
      id: requestIdFrom(req.headers['x-request-id']),
      connection: conn,
      method: req.method ?? 'GET',
      url: req.url ?? '',
      authority,
      host: normalizeHost(authority),
      httpVersion: req.httpVersion,
      headers: req.headers,
      routing: this.routing,
    });
  }

  private start(pr: ProxyRequest): void {
    try {
      this.route(pr);
    } catch (err) {
      this.crashed(pr, err);
    }
  }

  private route(pr: ProxyRequest): void {
    // Origin-form only: absolute-form and `*` have no path to route by. HTTP/1.1 and h2 must
    // name a host (node's own check would answer without our JSON); HTTP/1.0 may not.
    if (pr.url.charCodeAt(0) !== 47 /* / */ || (pr.authority === '' && pr.httpVersion !== '1.0')) {
      return this.fail(pr, 'WEAVER_ERR_BAD_REQUEST');
    }
    const route = pr.routing.router.match(pr.host, pr.path);
    if (!route) return this.fail(pr, 'WEAVER_ERR_NO_ROUTE');
    pr.route = route.name;
    pr.upstream = route.upstream;
    const max = this.opts.http.maxBodyBytes;
    if (max > 0 && Number(pr.headers['content-length'] ?? 0) > max) return this.fail(pr, 'WEAVER_ERR_BODY_TOO_LARGE');
    const hooks = this.hooks;
    if (!hooks.has('onRequest')) return this.select(pr);
    const outcome = hooks.request(pr);
    if (isThenable(outcome)) outcome.then((o) => this.decided(pr, o), (err: unknown) => this.crashed(pr, err));
    else this.decided(pr, outcome);
  }

  private decided(pr: ProxyRequest, outcome: Outcome): void {
    if (outcome.delayMs > 0) setTimeout(() => this.act(pr, outcome.decision as RequestDecision), outcome.delayMs);
    else this.act(pr, outcome.decision as RequestDecision);
  }

  /** Runs from timers and promise callbacks: a throw here must not take the process down. */
  private act(pr: ProxyRequest, decision: RequestDecision): void {
    try {
      this.apply(pr, decision);
    } catch (err) {
      this.crashed(pr, err);
    }
  }

  private apply(pr: ProxyRequest, decision: RequestDecision): void {
    if (this.gone(pr)) return;
    if (decision.action === 'reject') {
      pr.log.info({ reason: decision.reason, status: decision.status ?? 403 }, 'request rejected');
      return this.fail(pr, 'WEAVER_ERR_REJECTED', decision.status);
    }
    if (decision.action === 'respond') {
      const headers: OutgoingHttpHeaders = endToEnd(lowercaseKeys(decision.headers ?? {}));
      const body = decision.body === undefined ? Buffer.alloc(0) : Buffer.from(decision.body);
      headers['content-length'] = body.length;
      headers['x-request-id'] = pr.id;
      return this.local(pr, decision.status, headers, body);
    }
    this.select(pr);
  }

  private select(pr: ProxyRequest): void {
    const pool = pr.routing.upstreams.get(pr.upstream!);
    if (!pool) return this.fail(pr, 'WEAVER_ERR_NO_UPSTREAM');
    pr.pool = pool;
    const candidates = pool.candidates();
    // Every server failed its health checks or is ejected: no panic routing to them anyway.
    if (candidates.length === 0) return this.fail(pr, 'WEAVER_ERR_NO_HEALTHY_UPSTREAM');
    const hooks = this.hooks;
    if (!hooks.has('onUpstreamSelect')) return this.chosen(pr, candidates);
    const ranked = hooks.upstreamSelect(pr, candidates);
    if (isThenable(ranked)) ranked.then((list) => this.chosen(pr, list), (err: unknown) => this.crashed(pr, err));
    else this.chosen(pr, ranked);
  }

  private chosen(pr: ProxyRequest, ranked: readonly UpstreamCandidate[]): void {
    try {
      this.dispatch(pr, ranked);
    } catch (err) {
      this.crashed(pr, err);
    }
  }

  private dispatch(pr: ProxyRequest, ranked: readonly UpstreamCandidate[]): void {
    if (this.gone(pr)) return;
    const pool = pr.pool!;
    const first = ranked[0];
    const server = first === undefined ? undefined : pool.server(first);
    if (!server) return this.fail(pr, 'WEAVER_ERR_NO_UPSTREAM');
    pr.candidate = server.candidate;
    const reply = this.replies.get(pr)!;
    const { http } = this.opts;
    const headers = upstreamRequestHeaders({
      rawHeaders: reply.req.rawHeaders,
      connection: pr.headers.connection,
      te: pr.headers.te,
      fromH2: reply.kind === 'http' && reply.h2,
      trustForwarded: http.trustForwarded,
      hop: { clientAddress: pr.connection.remoteAddress, proto: 'https', host: pr.authority },
      requestId: pr.id,
      overrides: pr.upstreamHeaders,
    });
    pool.budget.request();
    if (reply.kind === 'upgrade') return this.tunnel(pr, server, reply, headers);
    reply.body = requestBody(reply.req, reply.h2, http.maxBodyBytes);
    const retryable = pool.config.retries.attempts > 0 && canRetry(pr.method, reply.body !== null);
    new Forwarding(this, { pr, res: reply.res, h2: reply.h2, headers, body: reply.body, retryable, ranked, server }).start();
  }

  closesConnections(): boolean {
    return this.closing || this.retiring;
  }

  private tunnel(pr: ProxyRequest, server: UpstreamServer, reply: Reply & { kind: 'upgrade' }, headers: Record<string, string | string[]>): void {
    const { metrics, hooks } = this;
    const pool = pr.pool!;
    const protocol = String(pr.headers.upgrade ?? 'websocket');
    this.tunnels.add(reply.socket);
    pr.attempts++;
    openTunnel(server, { path: pr.url, headers, protocol }, reply.socket, reply.head, {
      switched: (upstreamHeaders, ms) => {
        metrics.upstreamSeconds.observe({ upstream: pool.name }, ms / 1000);
        pool.report(server, 'ok');
        pr.status = 101;
        if (hooks.has('onResponse')) {
          const durationMs = performance.now() - pr.startedMark;
          hooks.response(pr, { status: 101, headers: upstreamHeaders, upstream: server.candidate, durationMs });
        }
        return { 'x-request-id': pr.id };
      },
      failed: (error) => {
        this.tunnels.delete(reply.socket);
        if (upstreamFailed(this, pr, server, error, false)) this.fail(pr, isProxyErrorCode(error.code) ? error.code : 'WEAVER_ERR_UPSTREAM');
      },
      closed: (bytes) => {
        this.tunnels.delete(reply.socket);
        pr.bytes = bytes;
        if (pr.status === 0) pr.status = CLIENT_CLOSED;
        this.end(pr);
      },
    });
  }

  /** An error answer made by Weaver. */
  fail(pr: ProxyRequest, code: ProxyErrorCode, status?: number): void {
    const r = errorReply(code, pr.id, status);
    this.local(pr, r.status, r.headers, r.body);
  }

  /** Any answer made by Weaver rather than relayed: errors, rejects, plugin responses. */
  private local(pr: ProxyRequest, status: number, headers: OutgoingHttpHeaders, body: Buffer): void {
    const reply = this.replies.get(pr)!;
    pr.status = status;
    pr.bytes = body.length;
    if (this.hooks.has('onResponse')) {
      const seen = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v : String(v)]));
      this.hooks.response(pr, { status, headers: seen, upstream: undefined, durationMs: performance.now() - pr.startedMark });
    }
    if (reply.kind === 'upgrade') {
      writeRawResponse(reply.socket, status, headers, body);
      this.end(pr);
      return;
    }
    const { req, res } = reply;
    if (res.headersSent || res.writableEnded) return;
    if (!reply.h2 && this.closesConnections()) headers.connection = 'close';
    if (!req.complete) dropRest(req, res, reply.body, reply.h2);
    try {
      res.writeHead(status, headers);
    } catch (err) {
      // A plugin's header node will not send (bad characters, h2-forbidden): say so, safely.
      pr.log.error({ err: (err as Error).message }, 'response head refused');
      const r = errorReply('WEAVER_ERR_INTERNAL', pr.id);
      pr.status = r.status;
      pr.bytes = r.body.length;
      res.writeHead(r.status, r.headers);
      res.end(r.body);
      return;
    }
    res.end(body);
  }

  crashed(pr: ProxyRequest, err: unknown): void {
    pr.log.error({ err }, 'request pipeline failed');
    if (this.gone(pr)) return;
    const reply = this.replies.get(pr)!;
    if (reply.kind === 'http' && reply.res.headersSent) reply.res.destroy();
    else this.fail(pr, 'WEAVER_ERR_INTERNAL');
  }

  gone(pr: ProxyRequest): boolean {
    const reply = this.replies.get(pr)!;
    return pr.finished || (reply.kind === 'upgrade' ? reply.socket.destroyed : reply.res.writableEnded);
  }

  /** Once per request, whichever way it ended. */
  private end(pr: ProxyRequest): void {
    if (pr.ended) return;
    pr.ended = true;
    recordRequest(pr, this.metrics, this.opts.accessLog ? this.opts.log : undefined);
    if (--this.active === 0) this.onIdle?.();
  }
}

function lowercaseKeys(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in headers) out[k.toLowerCase()] = headers[k]!;
  return out;
}
