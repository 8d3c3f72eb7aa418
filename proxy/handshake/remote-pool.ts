// A remote handshake pool: the raw connection, hello bytes included, goes on to one of several
// remote TLS terminators (passthrough, like SNI routing in HAProxy), the least loaded first.
import net, { type Socket } from 'node:net';
import type { RemotePoolConfig } from '../config/schema.ts';
import type { Connection } from '../connection.ts';
import type { CoreMetrics } from '../metrics.ts';
import { relay } from './pipe.ts';
import { parseHostPort } from '../config/semantic-checks.ts';

interface Target {
  host: string;
  port: number;
  weight: number;
  active: number;
  failures: number;
}

export class RemotePool {
  readonly kind = 'remote';
  readonly name: string;
  readonly config: RemotePoolConfig;
  private readonly targets: Target[];
  private readonly metrics: CoreMetrics;

  constructor(name: string, config: RemotePoolConfig, metrics: CoreMetrics) {
    this.name = name;
    this.config = config;
    this.metrics = metrics;
    // The config checks already refused targets that are not host:port.
    this.targets = config.targets.map((t) => ({ ...parseHostPort(t.address)!, weight: t.weight, active: 0, failures: 0 }));
  }

  /** Least connections per unit of weight; recent connect failures push a target back. */
  private pick(exclude: Set<Target>): Target | undefined {
    let best: Target | undefined;
    let bestScore = Infinity;
    for (const t of this.targets) {
      if (exclude.has(t)) continue;
      const score = (t.active + 1 + t.failures * 10) / t.weight;
      if (score < bestScore) {
        best = t;
        bestScore = score;
      }
    }
    return best;
  }

  take(client: Socket, conn: Connection, hello: Buffer, judge?: (c: Uint8Array, d: 'in' | 'out') => boolean): void {
    conn.pool = this.name;
    this.attempt(client, conn, hello, new Set(), judge);
  }

  private attempt(client: Socket, conn: Connection, hello: Buffer, tried: Set<Target>, judge?: (c: Uint8Array, d: 'in' | 'out') => boolean): void {
    const target = this.pick(tried);
    if (!target || client.destroyed) {
      this.metrics.handshakes.inc({ pool: this.name, outcome: 'error' });
      conn.outcome = 'error';
      conn.error = 'no remote terminator reachable';
      conn.log.warn({ pool: this.name }, 'no remote terminator reachable');
      client.destroy();
      return;
    }
    tried.add(target);
    const upstream = net.connect({ host: target.host, port: target.port, noDelay: true });
    upstream.setTimeout(this.config.connectTimeoutMs, () => upstream.destroy(new Error('connect timeout')));
    const onError = (err: Error) => {
      target.failures++;
      conn.log.info({ pool: this.name, target: `${target.host}:${target.port}`, reason: err.message }, 'remote terminator failed; trying another');
      this.attempt(client, conn, hello, tried, judge);
    };
    upstream.once('error', onError);
    upstream.once('connect', () => {
      upstream.off('error', onError);
      upstream.setTimeout(0);
      target.failures = 0;
      target.active++;
      upstream.once('close', () => target.active--);
      this.metrics.handshakes.inc({ pool: this.name, outcome: 'passthrough' });
      conn.onCut(() => {
        client.destroy();
        upstream.destroy();
      });
      relay(client, upstream, hello, judge);
    });
  }
}
