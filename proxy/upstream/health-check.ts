// Active health checks: a GET of `healthCheck.path` on each server every intervalMs (±10%, so
// the probes of many servers and many proxies drift apart instead of arriving together).
// Servers start healthy: a new config (a reload) must not blackhole traffic while the first
// probes run; retries and outlier ejection cover a dead server until its probes fail.
// Probes use a small undici pool of their own and a fresh connection each time, so they see
// what a new request would see, and busy traffic connections cannot delay them.
import { Pool } from 'undici';
import type { HealthCheckConfig, UpstreamConfig } from '../config/schema.ts';
import type { RandomSource } from './balancer.ts';
import { upstreamConnect, type UpstreamServer } from './server.ts';
import type { UpstreamTransports } from './transports.ts';

const JITTER = 0.1;
/** The first probe of each server runs at a random point within min(intervalMs, this). */
const FIRST_PROBE_WITHIN_MS = 1_000;
/** A probe's answer is read to this many bytes, then dropped. */
const BODY_LIMIT = 64 * 1024;

export type HealthListener = (server: UpstreamServer, healthy: boolean, reason: string) => void;

/** "200-299,404" → a test for a status. The schema has checked the shape. */
function statusMatcher(spec: string): (status: number) => boolean {
  const ranges = spec.split(',').map((part) => {
    const [from, to] = part.split('-');
    return [Number(from), Number(to ?? from)] as const;
  });
  return (status) => ranges.some(([from, to]) => status >= from && status <= to);
}

export class HealthCheck {
  private readonly server: UpstreamServer;
  private readonly config: HealthCheckConfig;
  private readonly random: RandomSource;
  private readonly changed: HealthListener;
  private readonly expected: (status: number) => boolean;
  private readonly pool: Pool;
  private timer: NodeJS.Timeout | undefined;
  private probing: AbortController | undefined;
  private passes = 0;
  private failures = 0;
  private stopped = false;

  constructor(
    server: UpstreamServer,
    upstream: UpstreamConfig,
    config: HealthCheckConfig,
    random: RandomSource,
    changed: HealthListener,
    transports?: UpstreamTransports,
  ) {
    this.server = server;
    this.config = config;
    this.random = random;
    this.changed = changed;
    this.expected = statusMatcher(config.expectStatus);
    this.pool = new Pool(server.id, {
      connections: 1,
      headersTimeout: config.timeoutMs,
      bodyTimeout: config.timeoutMs,
      allowH2: upstream.http2,
      connect: upstreamConnect(server.via, upstream, config.timeoutMs, transports),
    });
  }

  start(): void {
    this.schedule(this.random() * Math.min(this.config.intervalMs, FIRST_PROBE_WITHIN_MS));
  }

  /**
   * Outlier detection ejected the server: it must pass healthyThreshold probes in a row before
   * it returns, whatever the probes said before. The ejection itself is what gets reported.
   */
  demote(): void {
    this.passes = 0;
    this.server.healthy = false;
  }

  /** No timer and no probe is left running when the returned promise settles. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.probing?.abort();
    await this.pool.destroy();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.probe();
    }, ms);
    this.timer.unref();
  }

  private async probe(): Promise<void> {
    const abort = new AbortController();
    this.probing = abort;
    const { timeoutMs } = this.config;
    const deadline = setTimeout(() => abort.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    deadline.unref();
    let failure: string | undefined;
    try {
      const res = await this.pool.request({
        path: this.config.path,
        method: 'GET',
        headers: { 'user-agent': 'weaver-health-check' },
        // A new connection per probe: a kept-alive one would hide a server that stopped accepting.
        reset: true,
        signal: abort.signal,
      });
      await res.body.dump({ limit: BODY_LIMIT, signal: abort.signal });
      if (!this.expected(res.statusCode)) failure = `status ${res.statusCode}`;
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      failure = abort.signal.aborted ? `no answer within ${timeoutMs} ms` : String(e.code ?? e.message ?? err);
    } finally {
      clearTimeout(deadline);
      this.probing = undefined;
    }
    if (this.stopped) return;
    this.record(failure);
    this.schedule(this.config.intervalMs * (1 - JITTER + 2 * JITTER * this.random()));
  }

  private record(failure: string | undefined): void {
    const { healthyThreshold, unhealthyThreshold } = this.config;
    if (failure === undefined) {
      this.failures = 0;
      this.passes++;
      if (!this.server.healthy && this.passes >= healthyThreshold) {
        this.server.healthy = true;
        this.changed(this.server, true, `${this.passes} probes passed in a row`);
      }
      return;
    }
    this.passes = 0;
    this.failures++;
    if (this.server.healthy && this.failures >= unhealthyThreshold) {
      this.server.healthy = false;
      this.changed(this.server, false, `${this.failures} probes failed in a row, last: ${failure}`);
    }
  }
}
