// Core metrics in one prom-client registry; plugins register theirs in the same one through
// their PluginApi, so one /metrics scrape shows everything. The registry outlives runtimes: a
// reload keeps counting in the same series. docs/metrics.md lists every name.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One server of one live upstream pool, as the gauges read it at scrape time. */
export interface UpstreamGaugeRow {
  readonly upstream: string;
  readonly server: string;
  readonly inRotation: boolean;
  readonly inflight: number;
}

export interface UpstreamGaugeSource {
  gaugeRows(): Iterable<UpstreamGaugeRow>;
}

/**
 * Sets an upstream gauge from every live registry at scrape time. During a reload the old and
 * the new registry are both live; `combine` merges their values for one server.
 */
function fromUpstreams(sources: ReadonlySet<UpstreamGaugeSource>, value: (row: UpstreamGaugeRow) => number, combine: (a: number, b: number) => number) {
  return function (this: Gauge<'upstream' | 'server'>): void {
    this.reset();
    const seen = new Map<string, number>();
    for (const source of sources) {
      for (const r of source.gaugeRows()) {
        const key = `${r.upstream}\u0000${r.server}`;
        const before = seen.get(key);
        const v = before === undefined ? value(r) : combine(before, value(r));
        seen.set(key, v);
        this.set({ upstream: r.upstream, server: r.server }, v);
      }
    }
  };
}

export class CoreMetrics {
  readonly registry = new Registry();
  readonly connections = new Counter({
    name: 'weaver_connections_total',
    help: 'TCP connections accepted, by listener',
    labelNames: ['listener'] as const,
    registers: [this.registry],
  });
  readonly activeConnections = new Gauge({
    name: 'weaver_connections_active',
    help: 'Open client connections, by listener',
    labelNames: ['listener'] as const,
    registers: [this.registry],
  });
  readonly connectionsRejected = new Counter({
    name: 'weaver_connections_rejected_total',
    help: 'Connections refused, by phase and reason kind',
    labelNames: ['listener', 'phase'] as const,
    registers: [this.registry],
  });
  readonly helloErrors = new Counter({
    name: 'weaver_clienthello_errors_total',
    help: 'ClientHellos that could not be read, by error code',
    labelNames: ['listener', 'code'] as const,
    registers: [this.registry],
  });
  readonly handshakes = new Counter({
    name: 'weaver_handshakes_total',
    help: 'TLS handshakes, by pool and outcome (ok, error, timeout, refused, passthrough)',
    labelNames: ['pool', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly handshakeSeconds = new Histogram({
    name: 'weaver_handshake_duration_seconds',
    help: 'From the end of the ClientHello to the end of the handshake, by pool',
    labelNames: ['pool'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly requests = new Counter({
    name: 'weaver_http_requests_total',
    help: 'HTTP requests, by route and status code',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly upstreamSeconds = new Histogram({
    name: 'weaver_upstream_response_seconds',
    help: 'Time to the upstream response headers, by upstream pool',
    labelNames: ['upstream'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly upstreamErrors = new Counter({
    name: 'weaver_upstream_errors_total',
    help: 'Upstream failures, by upstream pool and error code',
    labelNames: ['upstream', 'code'] as const,
    registers: [this.registry],
  });
  readonly upstreamRetries = new Counter({
    name: 'weaver_upstream_retries_total',
    help: 'Requests sent again to another server, by upstream pool and reason',
    labelNames: ['upstream', 'reason'] as const,
    registers: [this.registry],
  });
  readonly upstreamRetryBudgetExhausted = new Counter({
    name: 'weaver_upstream_retry_budget_exhausted_total',
    help: 'Retries not made because the pool\'s retry budget was spent, by upstream pool',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });
  readonly upstreamEjections = new Counter({
    name: 'weaver_upstream_ejections_total',
    help: 'Servers taken out of rotation by outlier detection, by upstream pool and server',
    labelNames: ['upstream', 'server'] as const,
    registers: [this.registry],
  });
  /** Live upstream registries, read at scrape time: no per-request cost, and a closed one's servers vanish. */
  private readonly upstreamSources = new Set<UpstreamGaugeSource>();
  readonly upstreamHealthy = new Gauge({
    name: 'weaver_upstream_healthy',
    help: '1 when the upstream server is in rotation (passing health checks, not ejected), else 0',
    labelNames: ['upstream', 'server'] as const,
    registers: [this.registry],
    collect: fromUpstreams(this.upstreamSources, (r) => (r.inRotation ? 1 : 0), Math.max),
  });
  readonly upstreamInflight = new Gauge({
    name: 'weaver_upstream_inflight',
    help: 'Requests in flight to an upstream server, by upstream pool and server',
    labelNames: ['upstream', 'server'] as const,
    registers: [this.registry],
    collect: fromUpstreams(this.upstreamSources, (r) => r.inflight, (a, b) => a + b),
  });
  readonly pluginErrors = new Counter({
    name: 'weaver_plugin_errors_total',
    help: 'Plugin hook failures, by plugin, phase and error code (throws, timeouts, bad decisions)',
    labelNames: ['plugin', 'phase', 'code'] as const,
    registers: [this.registry],
  });
  readonly pluginTimeouts = new Counter({
    name: 'weaver_plugin_timeouts_total',
    help: 'Async plugin hooks that overran their timeoutMs, by plugin and phase (also counted in weaver_plugin_errors_total)',
    labelNames: ['plugin', 'phase'] as const,
    registers: [this.registry],
  });
  readonly reloads = new Counter({
    name: 'weaver_reloads_total',
    help: 'Configuration reloads, by result (ok, refused)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly runtimesDraining = new Gauge({
    name: 'weaver_runtimes_draining',
    help: 'Runtimes retired by a reload whose connections have not all closed yet',
    registers: [this.registry],
  });

  private readonly perListener = new Map<string, { accepted: { inc(): void }; active: { inc(): void; dec(): void } }>();

  /**
   * The per-connection series of one listener, bound once: label lookups hash their label
   * object on every call, and these run on every accept and close.
   */
  listener(name: string): { accepted: { inc(): void }; active: { inc(): void; dec(): void } } {
    let bound = this.perListener.get(name);
    if (!bound) {
      bound = { accepted: this.connections.labels({ listener: name }), active: this.activeConnections.labels({ listener: name }) };
      this.perListener.set(name, bound);
    }
    return bound;
  }

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'weaver_process_' });
  }

  /** Counts a registry's servers in weaver_upstream_inflight until the returned function is called. */
  watchUpstreams(source: UpstreamGaugeSource): () => void {
    this.upstreamSources.add(source);
    return () => this.upstreamSources.delete(source);
  }
}
