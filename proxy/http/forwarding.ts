// One request on its way upstream, across its attempts: each attempt is one exchange with one
// server; a response or failure the retry plan allows is dropped and the next server tried.
// The forwarding object is itself the observer of each exchange, so an attempt allocates
// nothing of its own but the exchange.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { WeaverError } from '../errors.ts';
import type { HookRunner } from '../hooks/runner.ts';
import type { CoreMetrics } from '../metrics.ts';
import { forward, type ClientResponse, type ExchangeObserver, type ForwardRequest } from '../upstream/dispatch.ts';
import type { UpstreamCandidate } from '../plugin/types.ts';
import { outcomeForError, reasonForError, reasonForStatus, RetryPlan, type RetryReason } from '../upstream/retry.ts';
import type { UpstreamServer } from '../upstream/server.ts';
import type { BodyLimit } from './body-limit.ts';
import { isProxyErrorCode, type ProxyErrorCode } from './error-response.ts';
import { endToEnd } from './hop-by-hop.ts';
import type { ProxyRequest } from './request-context.ts';

/** What a forwarding needs from the pipeline that owns the request. */
export interface ForwardingOwner {
  readonly metrics: CoreMetrics;
  readonly hooks: HookRunner;
  /** HTTP/1.1 answers close their connection (the ingress is stopping or retired). */
  closesConnections(): boolean;
  /** The client is no longer waiting for an answer. */
  gone(pr: ProxyRequest): boolean;
  fail(pr: ProxyRequest, code: ProxyErrorCode): void;
  crashed(pr: ProxyRequest, err: unknown): void;
}

export interface ForwardingInit {
  readonly pr: ProxyRequest;
  readonly res: ClientResponse;
  readonly h2: boolean;
  /** The upstream request's headers. */
  readonly headers: Record<string, string | string[]>;
  readonly body: BodyLimit | null;
  /** False when the request may not be retried (method, body, config). */
  readonly retryable: boolean;
  /** The candidates as the balancer and plugins ranked them; retries go down this list. */
  readonly ranked: readonly UpstreamCandidate[];
  /** The server of the first attempt. */
  readonly server: UpstreamServer;
}

export class Forwarding implements ExchangeObserver {
  private readonly owner: ForwardingOwner;
  private readonly pr: ProxyRequest;
  private readonly res: ClientResponse;
  private readonly h2: boolean;
  private readonly request: ForwardRequest;
  private readonly retryable: boolean;
  private readonly ranked: readonly UpstreamCandidate[];
  /** Made at the first answer or failure that could be retried: most requests never need one. */
  private retries: RetryPlan | undefined;
  /** The server of the attempt under way. */
  private server: UpstreamServer;
  /** The server a dropped response is retried on. */
  private next: UpstreamServer | undefined;

  constructor(owner: ForwardingOwner, init: ForwardingInit) {
    this.owner = owner;
    this.pr = init.pr;
    this.res = init.res;
    this.h2 = init.h2;
    this.request = { method: init.pr.method, path: init.pr.url, headers: init.headers, body: init.body };
    this.retryable = init.retryable;
    this.ranked = init.ranked;
    this.server = init.server;
  }

  start(): void {
    this.attempt(this.server);
  }

  private attempt(server: UpstreamServer): void {
    this.server = server;
    this.pr.candidate = server.candidate;
    this.pr.attempts++;
    forward(server, this.request, this.res, this);
  }

  head(status: number, headers: IncomingHttpHeaders, ms: number): OutgoingHttpHeaders | null {
    const { pr, server } = this;
    const { metrics, hooks } = this.owner;
    const pool = pr.pool!;
    metrics.upstreamSeconds.observe({ upstream: pool.name }, ms / 1000);
    pool.report(server, status >= 500 ? 'error' : 'ok');
    const reason = reasonForStatus(status);
    this.next = reason && this.retryOn(reason, `status ${status}`);
    if (this.next) return null;
    pr.status = status;
    if (hooks.has('onResponse')) {
      hooks.response(pr, { status, headers, upstream: server.candidate, durationMs: performance.now() - pr.startedMark });
    }
    const out: OutgoingHttpHeaders = endToEnd(headers);
    out['x-request-id'] = pr.id;
    if (!this.h2 && this.owner.closesConnections()) out.connection = 'close';
    return out;
  }

  dropped(): void {
    this.retry(this.next!);
  }

  done(bytes: number): void {
    this.pr.bytes = bytes;
  }

  failed(error: WeaverError, headersSent: boolean, bytes: number): void {
    const { pr, server } = this;
    pr.bytes = bytes;
    if (!upstreamFailed(this.owner, pr, server, error, headersSent)) return;
    const reason = reasonForError(error.code);
    const again = reason && this.retryOn(reason, error.code);
    if (again) this.retry(again);
    else this.owner.fail(pr, isProxyErrorCode(error.code) ? error.code : 'WEAVER_ERR_UPSTREAM');
  }

  /** The server to try next after the current one answered or failed for `reason`, if any. */
  private retryOn(reason: RetryReason, why: string): UpstreamServer | undefined {
    if (!this.retryable) return undefined;
    // The plan starts at the first server: the only one tried when it is made.
    this.retries ??= new RetryPlan(this.pr.pool!, this.ranked, this.server, this.owner.metrics, this.pr);
    return this.retries.next(this.server, reason, why);
  }

  /** Runs from undici's callbacks: a throw here must not reach undici. */
  private retry(server: UpstreamServer): void {
    if (this.owner.gone(this.pr)) return;
    try {
      this.attempt(server);
    } catch (err) {
      this.owner.crashed(this.pr, err);
    }
  }
}

/**
 * Counts and logs a failed exchange and tells outlier detection. True when the client is
 * still waiting for an answer, which the caller then gives (a retry or an error).
 */
export function upstreamFailed(owner: ForwardingOwner, pr: ProxyRequest, server: UpstreamServer, error: WeaverError, headersSent: boolean): boolean {
  const code = error.code;
  if (code === 'WEAVER_ERR_CLIENT_GONE' || owner.gone(pr)) {
    pr.log.debug({ code, reason: error.message }, 'client left during the upstream exchange');
    return false;
  }
  const outcome = outcomeForError(code);
  if (outcome) pr.pool!.report(server, outcome);
  if (code !== 'WEAVER_ERR_BODY_TOO_LARGE') {
    owner.metrics.upstreamErrors.inc({ upstream: pr.pool!.name, code });
    pr.log.warn({ code, reason: error.message, server: server.id, headersSent }, 'upstream request failed');
  }
  return !headersSent;
}
