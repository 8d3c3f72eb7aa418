// Everything one config builds: certificates, handshake pools, upstreams, routes, plugins and
// their hook chain. A connection keeps the runtime it was accepted with, so a reload can build
// a new one for new connections while established ones carry on with theirs.
import { isAbsolute, resolve } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { WeaverConfig } from './config/schema.ts';
import { loadCertificates } from './tls/certificates.ts';
import { poolContextOptions } from './tls/pool-context-options.ts';
import { LocalPool } from './handshake/local-pool.ts';
import { RemotePool } from './handshake/remote-pool.ts';
import { HookRunner } from './hooks/runner.ts';
import { loadPlugins, type LoadedPlugin } from './plugin/load.ts';
import { createHttpIngress, type HttpIngress } from './http/ingress.ts';
import { UpstreamRegistry } from './upstream/registry.ts';
import type { AdminRoutes } from './admin/routes.ts';
import type { CoreMetrics } from './metrics.ts';
import type { Connection } from './connection.ts';
import type { HandshakeInfo } from './plugin/types.ts';
import type { Outcome } from './hooks/runner.ts';

export type Pool = LocalPool | RemotePool;

export interface RuntimeDeps {
  log: Logger;
  metrics: CoreMetrics;
  admin: AdminRoutes;
  /** Directory of the config file: relative paths in it were written against it. */
  baseDir: string;
}

export class Runtime {
  readonly config: WeaverConfig;
  readonly log: Logger;
  readonly metrics: CoreMetrics;
  readonly pools = new Map<string, Pool>();
  readonly connections = new Set<Connection>();
  readonly stateDir: string;
  hooks!: HookRunner;
  plugins: LoadedPlugin[] = [];
  upstreams!: UpstreamRegistry;
  ingress!: HttpIngress;

  private constructor(config: WeaverConfig, deps: RuntimeDeps) {
    this.config = config;
    this.log = deps.log;
    this.metrics = deps.metrics;
    this.stateDir = isAbsolute(config.stateDir) ? config.stateDir : resolve(deps.baseDir, config.stateDir);
  }

  static async build(config: WeaverConfig, deps: RuntimeDeps): Promise<Runtime> {
    const rt = new Runtime(config, deps);
    for (const [name, pool] of Object.entries(config.handshakePools)) {
      if (pool.kind === 'remote') {
        rt.pools.set(name, new RemotePool(name, pool, rt.metrics));
        continue;
      }
      const certs = await loadCertificates(pool.certificates, {
        stateDir: rt.stateDir,
        contextOptions: await poolContextOptions(pool),
      });
      rt.pools.set(name, new LocalPool(name, pool, certs, rt.metrics, (s, c, i) => rt.handshakeDone(s, c, i)));
    }
    rt.upstreams = new UpstreamRegistry(config.upstreams);
    rt.plugins = await loadPlugins(config.plugins, {
      log: rt.log,
      metrics: rt.metrics,
      admin: deps.admin,
      pools: [...rt.pools.keys()],
      stateDir: rt.stateDir,
      baseDir: deps.baseDir,
    });
    rt.hooks = new HookRunner(rt.plugins, (owner, phase, error) => {
      rt.metrics.pluginErrors.inc({ plugin: owner.name, phase, code: error.code });
      rt.log.warn({ plugin: owner.name, phase, code: error.code, reason: error.message, policy: owner.failure }, 'plugin hook failed');
    });
    rt.ingress = createHttpIngress({
      http: config.http,
      routes: config.routes,
      upstreams: rt.upstreams,
      hooks: rt.hooks,
      log: rt.log,
      accessLog: config.log.accessLog,
      metrics: rt.metrics,
    });
    return rt;
  }

  track(conn: Connection): void {
    this.connections.add(conn);
  }

  /** host:port of a server of an upstream pool, for passthrough decisions. */
  passthroughTarget(upstream: string): { host: string; port: number } | undefined {
    const pool = this.config.upstreams[upstream];
    const server = pool?.servers[0];
    if (!server) return undefined;
    const url = new URL(server.url);
    return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
  }

  handshakeDone(tlsSocket: TLSSocket, conn: Connection, info: HandshakeInfo): void {
    conn.tls = info;
    conn.onCut(() => {
      tlsSocket.destroy();
      conn.socket.destroy();
    });
    tlsSocket.on('error', (err: NodeJS.ErrnoException) => {
      conn.error ??= err.code ?? err.message;
    });
    const said = this.hooks.handshakeDone(conn, info);
    if (said instanceof Promise) said.then((o) => this.afterHandshake(tlsSocket, conn, o), () => tlsSocket.destroy());
    else this.afterHandshake(tlsSocket, conn, said);
  }

  private afterHandshake(tlsSocket: TLSSocket, conn: Connection, outcome: Outcome): void {
    if (tlsSocket.destroyed) return;
    if (outcome.decision.action === 'reject') {
      conn.outcome = 'rejected';
      conn.error = outcome.decision.reason;
      this.metrics.connectionsRejected.inc({ listener: conn.listener, phase: 'handshake' });
      conn.log.info({ phase: 'handshake', reason: outcome.decision.reason }, 'connection rejected');
      tlsSocket.destroy();
      return;
    }
    if (outcome.delayMs > 0) setTimeout(() => tlsSocket.destroyed || this.ingress.serve(tlsSocket, conn), outcome.delayMs);
    else this.ingress.serve(tlsSocket, conn);
  }

  /** Called once per connection when its socket closes. */
  finish(conn: Connection): void {
    conn.closed = true;
    this.connections.delete(conn);
    this.metrics.activeConnections.dec({ listener: conn.listener });
    const durationMs = performance.now() - conn.acceptedMark;
    if (this.hooks.has('onClose')) {
      this.hooks.close(conn, {
        bytesIn: conn.socket.bytesRead,
        bytesOut: conn.socket.bytesWritten,
        durationMs,
        requests: conn.requests,
        outcome: conn.outcome,
        error: conn.error,
      });
    }
  }

  async close(deadlineMs: number): Promise<void> {
    await this.ingress.close(deadlineMs);
    for (const conn of this.connections) conn.socket.destroy();
    await Promise.all(this.plugins.map((p) => p.stop()));
    await this.upstreams.close();
  }
}
