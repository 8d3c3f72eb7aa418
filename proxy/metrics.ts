// Core metrics in one prom-client registry; plugins register theirs in the same one through
// their PluginApi, so one /metrics scrape shows everything.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
  readonly pluginErrors = new Counter({
    name: 'weaver_plugin_errors_total',
    help: 'Plugin hook failures, by plugin, phase and error code (throws, timeouts, bad decisions)',
    labelNames: ['plugin', 'phase', 'code'] as const,
    registers: [this.registry],
  });

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'weaver_process_' });
  }
}
