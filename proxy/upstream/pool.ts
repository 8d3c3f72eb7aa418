// A named group of servers that a route sends to. It owns the servers' connection pools, their
// health checks, outlier detection and retry budget, and the balancer that orders the servers
// in rotation for each request; plugins then see that order as their candidate list.
import type { UpstreamConfig } from '../config/schema.ts';
import type { UpstreamCandidate } from '../plugin/types.ts';
import { createBalancer, type Balancer, type RandomSource } from './balancer.ts';
import { HealthCheck } from './health-check.ts';
import { OutlierDetector, type PassiveOutcome } from './outlier.ts';
import { RetryBudget } from './retry-budget.ts';
import { UpstreamServer } from './server.ts';
import type { UpstreamTransports } from './transports.ts';

export type { PassiveOutcome } from './outlier.ts';

/** What a pool tells its owner (logs, metrics). Every method runs after the state changed. */
export interface PoolEvents {
  healthChanged(pool: UpstreamPool, server: UpstreamServer, healthy: boolean, reason: string): void;
  ejected(pool: UpstreamPool, server: UpstreamServer, ms: number, ejections: number, reason: string): void;
  released(pool: UpstreamPool, server: UpstreamServer): void;
  /** No server is left in rotation: requests get 503 WEAVER_ERR_NO_HEALTHY_UPSTREAM. */
  emptied(pool: UpstreamPool): void;
}

export interface PoolOptions {
  readonly events?: PoolEvents;
  /** For balancers and probe jitter; tests pass a seeded one. */
  readonly random?: RandomSource;
  /** Where servers with `via` get their connections. */
  readonly transports?: UpstreamTransports;
}

export interface ServerStatus {
  readonly id: string;
  readonly url: string;
  readonly weight: number;
  readonly labels: readonly string[];
  readonly healthy: boolean;
  /** ISO time the current ejection ends, or null. */
  readonly ejectedUntil: string | null;
  readonly ejections: number;
  readonly inflight: number;
  readonly latencyMs: number;
  readonly requests: number;
  readonly failures: number;
}

export interface PoolStatus {
  readonly balance: UpstreamConfig['balance'];
  readonly healthCheck: boolean;
  readonly inRotation: number;
  /** Over the budget's 10 s window. */
  readonly retryBudget: { readonly requests: number; readonly retries: number };
  readonly servers: readonly ServerStatus[];
}

const NONE: readonly UpstreamCandidate[] = Object.freeze([]);

export class UpstreamPool {
  readonly name: string;
  readonly config: UpstreamConfig;
  readonly servers: readonly UpstreamServer[];
  readonly budget: RetryBudget;
  private readonly balancer: Balancer<UpstreamServer>;
  private readonly events: PoolEvents | undefined;
  private readonly outliers: OutlierDetector;
  private readonly checks = new Map<UpstreamServer, HealthCheck>();
  private readonly byCandidate = new Map<UpstreamCandidate, UpstreamServer>();
  /** One-element lists for when a single server is in rotation: shared, no allocation per request. */
  private readonly alone = new Map<UpstreamServer, readonly UpstreamCandidate[]>();
  /** Healthy and not ejected; rebuilt on every change, read on every request. */
  private inRotation: readonly UpstreamServer[];

  constructor(name: string, config: UpstreamConfig, opts: PoolOptions = {}) {
    this.name = name;
    this.config = config;
    this.events = opts.events;
    const random = opts.random ?? Math.random;
    this.servers = Object.freeze(config.servers.map((s) => new UpstreamServer(s, config, opts.transports)));
    this.inRotation = this.servers;
    this.balancer = createBalancer<UpstreamServer>(config.balance, random);
    this.budget = new RetryBudget(config.retries.budgetPercent, config.retries.minRetriesPerSecond);
    for (const s of this.servers) {
      this.byCandidate.set(s.candidate, s);
      this.alone.set(s, Object.freeze([s.candidate]));
    }
    this.outliers = new OutlierDetector(this.servers, config.outlierDetection, {
      ejected: (server, ms, ejections, reason) => {
        this.checks.get(server)?.demote();
        this.refresh();
        this.events?.ejected(this, server, ms, ejections, reason);
      },
      released: (server) => {
        this.refresh();
        this.events?.released(this, server);
      },
    });
    const hc = config.healthCheck;
    if (hc) {
      for (const s of this.servers) {
        const check = new HealthCheck(
          s,
          config,
          hc,
          random,
          (server, healthy, reason) => {
            this.refresh();
            this.events?.healthChanged(this, server, healthy, reason);
          },
          opts.transports,
        );
        this.checks.set(s, check);
        check.start();
      }
    }
  }

  /** The servers in rotation for one request, best first by the balancer; empty when none is. */
  candidates(): readonly UpstreamCandidate[] {
    const live = this.inRotation;
    if (live.length <= 1) return live.length === 0 ? NONE : this.alone.get(live[0]!)!;
    const ranked = this.balancer.rank(live);
    const out = new Array<UpstreamCandidate>(ranked.length);
    for (let i = 0; i < ranked.length; i++) out[i] = ranked[i]!.candidate;
    return out;
  }

  /** The server behind a candidate this pool handed out, or undefined for a foreign object. */
  server(candidate: UpstreamCandidate): UpstreamServer | undefined {
    return this.byCandidate.get(candidate);
  }

  /** What one exchange with `server` said about it, for outlier detection and the counters. */
  report(server: UpstreamServer, outcome: PassiveOutcome): void {
    if (outcome !== 'ok') server.failures++;
    this.outliers.report(server, outcome);
  }

  describe(): PoolStatus {
    return {
      balance: this.config.balance,
      healthCheck: this.checks.size > 0,
      inRotation: this.inRotation.length,
      retryBudget: this.budget.totals(),
      servers: this.servers.map((s) => ({
        id: s.id,
        url: s.url,
        weight: s.weight,
        labels: s.labels,
        healthy: s.healthy,
        ejectedUntil: s.ejectedUntil === 0 ? null : new Date(s.ejectedUntil).toISOString(),
        ejections: this.outliers.ejections(s),
        inflight: s.inflight,
        latencyMs: Math.round(s.latencyMs * 100) / 100,
        requests: s.requests,
        failures: s.failures,
      })),
    };
  }

  /** Stops probes and ejection timers at once, lets requests in flight finish (up to `graceMs`), then closes every connection. */
  async close(graceMs = Infinity): Promise<void> {
    this.outliers.close();
    const probes = [...this.checks.values()].map((c) => c.stop());
    await Promise.all([...probes, ...this.servers.map((s) => s.close(graceMs))]);
  }

  private refresh(): void {
    const before = this.inRotation.length;
    this.inRotation = Object.freeze(this.servers.filter((s) => s.inRotation));
    if (before > 0 && this.inRotation.length === 0) this.events?.emptied(this);
  }
}
