// Which failed attempts are tried again, and where. Only a request that can be sent twice
// without harm is retried: an idempotent method (RFC 9110 §9.2.2) and no body, so nothing of the
// client's was consumed by the failed attempt. A retry always goes to a server not tried yet, in
// the order the balancer (and onUpstreamSelect) ranked them, and only while the server is still
// in rotation. The caller never asks once the response head reached the client.
import type { Logger } from 'pino';
import type { RetryConfig } from '../config/schema.ts';
import type { CoreMetrics } from '../metrics.ts';
import type { UpstreamCandidate } from '../plugin/types.ts';
import type { PassiveOutcome, UpstreamPool } from './pool.ts';
import type { UpstreamServer } from './server.ts';

export type RetryReason = RetryConfig['on'][number];

const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export function canRetry(method: string, hasBody: boolean): boolean {
  return !hasBody && IDEMPOTENT.has(method);
}

/** The retry reason for an exchange that failed with one of our upstream error codes. */
export function reasonForError(code: string): RetryReason | undefined {
  switch (code) {
    case 'WEAVER_ERR_UPSTREAM_CONNECT':
    case 'WEAVER_ERR_UPSTREAM_CONNECT_TIMEOUT':
      return 'connect-failure';
    case 'WEAVER_ERR_UPSTREAM':
      return 'reset';
    case 'WEAVER_ERR_UPSTREAM_TIMEOUT':
      return 'timeout';
    default:
      return undefined;
  }
}

export function reasonForStatus(status: number): RetryReason | undefined {
  return status === 502 ? '502' : status === 503 ? '503' : status === 504 ? '504' : undefined;
}

/** What an error code says about the server, for outlier detection; undefined says nothing. */
export function outcomeForError(code: string): PassiveOutcome | undefined {
  switch (code) {
    case 'WEAVER_ERR_UPSTREAM_CONNECT':
    case 'WEAVER_ERR_UPSTREAM_CONNECT_TIMEOUT':
      return 'connect-failure';
    case 'WEAVER_ERR_UPSTREAM':
    case 'WEAVER_ERR_UPSTREAM_TIMEOUT':
    case 'WEAVER_ERR_UPSTREAM_BODY_TIMEOUT':
      return 'error';
    default:
      // The client left, its body was too large: not the server's doing.
      return undefined;
  }
}

/** One request's retries: how many are left and which servers it has been to. */
export class RetryPlan {
  private readonly pool: UpstreamPool;
  private readonly config: RetryConfig;
  private readonly ranked: readonly UpstreamCandidate[];
  private readonly tried: UpstreamServer[];
  private readonly metrics: CoreMetrics;
  /** The request: its logger is made on first use, so a request never retried never makes one. */
  private readonly request: { readonly log: Logger };
  /** Attempts made so far, the first included. */
  attempts = 1;

  constructor(pool: UpstreamPool, ranked: readonly UpstreamCandidate[], first: UpstreamServer, metrics: CoreMetrics, request: { readonly log: Logger }) {
    this.pool = pool;
    this.config = pool.config.retries;
    this.ranked = ranked;
    this.tried = [first];
    this.metrics = metrics;
    this.request = request;
  }

  /**
   * The server for another attempt after `from` failed for `reason` (`why` is for the log), or
   * undefined when the request is not to be retried: reason not configured, attempts used up,
   * no untried server in rotation, or the pool's retry budget spent.
   */
  next(from: UpstreamServer, reason: RetryReason | undefined, why: string): UpstreamServer | undefined {
    if (reason === undefined || !this.config.on.includes(reason)) return undefined;
    if (this.attempts > this.config.attempts) return undefined;
    const server = this.untried();
    if (!server) return undefined;
    const upstream = this.pool.name;
    if (!this.pool.budget.tryRetry()) {
      this.metrics.upstreamRetryBudgetExhausted.inc({ upstream });
      this.request.log.info({ upstream, server: from.id, reason, why }, 'retry budget spent: not retrying');
      return undefined;
    }
    this.tried.push(server);
    this.attempts++;
    this.metrics.upstreamRetries.inc({ upstream, reason });
    this.request.log.info({ upstream, from: from.id, to: server.id, reason, why, attempt: this.attempts }, 'retrying upstream request');
    return server;
  }

  private untried(): UpstreamServer | undefined {
    for (const candidate of this.ranked) {
      const server = this.pool.server(candidate);
      if (server && server.inRotation && !this.tried.includes(server)) return server;
    }
    return undefined;
  }
}
