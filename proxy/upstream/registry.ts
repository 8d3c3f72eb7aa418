// Every upstream pool of one config, by name. A reload builds a new registry; the old one is
// closed once the requests that still use it have finished (undici's close waits for them).
// Health probes start when the registry is built and stop when it is closed, so a retired
// config leaves no timer and no probe behind.
import type { Logger } from 'pino';
import type { UpstreamConfig } from '../config/schema.ts';
import type { CoreMetrics, UpstreamGaugeRow } from '../metrics.ts';
import type { RandomSource } from './balancer.ts';
import { UpstreamPool, type PoolEvents, type PoolStatus } from './pool.ts';
import { parseVia, type UpstreamTransports } from './transports.ts';

export interface RegistryOptions {
  /** Health changes, ejections and empty pools are logged here. */
  readonly log?: Logger;
  /** Gauges and ejection counts go here (`weaver_upstream_*`). */
  readonly metrics?: CoreMetrics;
  readonly random?: RandomSource;
  /** Transports plugins register; servers with `via` connect through them. */
  readonly transports?: UpstreamTransports;
}

export class UpstreamRegistry {
  private readonly pools = new Map<string, UpstreamPool>();
  private readonly unwatch: (() => void) | undefined;

  constructor(configs: Readonly<Record<string, UpstreamConfig>>, opts: RegistryOptions = {}) {
    const events = poolEvents(opts);
    for (const [name, config] of Object.entries(configs)) {
      this.pools.set(name, new UpstreamPool(name, config, { events, random: opts.random, transports: opts.transports }));
    }
    this.unwatch = opts.metrics?.watchUpstreams(this);
  }

  get(name: string): UpstreamPool | undefined {
    return this.pools.get(name);
  }

  names(): string[] {
    return [...this.pools.keys()];
  }

  /** `via` values whose transport scheme is not in `transports`, with the pool naming each. */
  unservedVias(transports: UpstreamTransports): Array<{ upstream: string; via: string }> {
    const out: Array<{ upstream: string; via: string }> = [];
    for (const pool of this.pools.values()) {
      for (const s of pool.servers) if (s.via !== undefined && !transports.has(parseVia(s.via)[0])) out.push({ upstream: pool.name, via: s.via });
    }
    return out;
  }

  /** For the admin API (`/api/upstreams`): every pool, its servers and their state now. */
  describe(): Record<string, PoolStatus> {
    const out: Record<string, PoolStatus> = {};
    for (const [name, pool] of this.pools) out[name] = pool.describe();
    return out;
  }

  /** One row per server, read by the upstream gauges at scrape time. */
  *gaugeRows(): Iterable<UpstreamGaugeRow> {
    for (const pool of this.pools.values()) {
      for (const s of pool.servers) yield { upstream: pool.name, server: s.id, inRotation: s.inRotation, inflight: s.inflight };
    }
  }

  async close(graceMs = Infinity): Promise<void> {
    this.unwatch?.();
    await Promise.all([...this.pools.values()].map((p) => p.close(graceMs)));
  }
}

function poolEvents({ log, metrics }: RegistryOptions): PoolEvents {
  return {
    healthChanged(pool, server, healthy, reason) {
      const fields = { upstream: pool.name, server: server.id, reason };
      if (healthy) log?.info(fields, 'upstream server healthy');
      else log?.warn(fields, 'upstream server unhealthy');
    },
    ejected(pool, server, ms, ejections, reason) {
      metrics?.upstreamEjections.inc({ upstream: pool.name, server: server.id });
      log?.warn({ upstream: pool.name, server: server.id, ms, ejections, reason }, 'upstream server ejected');
    },
    released(pool, server) {
      const fields = { upstream: pool.name, server: server.id, inRotation: server.inRotation };
      log?.info(fields, server.inRotation ? 'upstream server back in rotation' : 'upstream server ejection over, waiting for health checks');
    },
    emptied(pool) {
      log?.error({ upstream: pool.name, servers: pool.servers.length }, 'no upstream server in rotation');
    },
  };
}
