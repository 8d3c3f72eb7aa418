// Everything one config builds: certificates, handshake pools, upstreams, routes, plugins (with
// their admin routes) and their hook chain. A connection keeps the runtime it was accepted with,
// so a reload builds a new one for new connections while established ones carry on with theirs;
// the old one is retired: it drains, then closes.
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
import { UpstreamTransports } from './upstream/transports.ts';
import { WeaverError } from './errors.ts';
import { AdminRoutes } from './admin/routes.ts';
import type { CoreMetrics } from './metrics.ts';
import type { Connection } from './connection.ts';
import type { HandshakeInfo } from './plugin/types.ts';
import type { Outcome } from './hooks/runner.ts';
import type { StateStore } from './store/types.ts';

export type Pool = LocalPool | RemotePool;

export interface RuntimeDeps {
  log: Logger;
  metrics: CoreMetrics;
  /** Directory of the config file: relative paths in it were written against it. */
  baseDir: string;
  /** The process's state store; plugins get a namespace of it. */
  store: StateStore;
}

export class Runtime {
  readonly config: WeaverConfig;
  readonly log: Logger;
  readonly metrics: CoreMetrics;
  readonly pools = new Map<string, Pool>();
  readonly connections = new Set<Connection>();
  /**
   * Each runtime's plugins mount their routes here, not in a table shared with the runtime
   * before: a reload builds the new plugins beside the old ones without a clash, and the admin
   * API follows whichever runtime is current.
   */
  readonly adminRoutes = new AdminRoutes();
  readonly stateDir: string;
  hooks!: HookRunner;
  plugins: LoadedPlugin[] = [];
  upstreams!: UpstreamRegistry;
  ingress!: HttpIngress;
  private retiring: Promise<number> | undefined;
  private closing: Promise<void> | undefined;
  private onEmpty: (() => void) | undefined;

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
    // Plugins register transports during setup; servers look theirs up at connect time.
    const transports = new UpstreamTransports();
    rt.upstreams = new UpstreamRegistry(config.upstreams, { log: rt.log, metrics: rt.metrics, transports });
    try {
      rt.plugins = await loadPlugins(config.plugins, {
        log: rt.log,
        metrics: rt.metrics,
        admin: rt.adminRoutes,
        pools: [...rt.pools.keys()],
        stateDir: rt.stateDir,
        baseDir: deps.baseDir,
        store: deps.store,
        transports,
      });
      const unserved = rt.upstreams.unservedVias(transports);
      if (unserved.length > 0) {
        await Promise.all(rt.plugins.map((p) => p.stop()));
        const list = unserved.map((u) => `upstreams.${u.upstream}: via "${u.via}"`).join('; ');
        throw new WeaverError('WEAVER_ERR_UPSTREAM_TRANSPORT', `no loaded plugin registered the transport of ${list}`);
      }
    } catch (err) {
      // A refused reload must leave nothing running behind it (upstream pools, their probes).
      await rt.upstreams.close();
      throw err;
    }
    rt.hooks = new HookRunner(rt.plugins, (owner, phase, error) => {
      rt.metrics.pluginErrors.inc({ plugin: owner.name, phase, code: error.code });
      if (error.code === 'WEAVER_ERR_PLUGIN_TIMEOUT') rt.metrics.pluginTimeouts.inc({ plugin: owner.name, phase });
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
    this.metrics.listener(conn.listener).active.dec();
    if (this.connections.size === 0) this.onEmpty?.();
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

  /**
   * For a runtime a reload replaced (its listeners already feed the new one): what is open
   * finishes without taking more keep-alive work (see HttpIngress.retire), and once the last
   * connection has closed, or the drain timeout has passed, the runtime closes for good.
   * Resolves with how many connections the timeout cut.
   */
  retire(drainTimeoutMs: number): Promise<number> {
    this.retiring ??= this.drainThenClose(drainTimeoutMs);
    return this.retiring;
  }

  private async drainThenClose(drainTimeoutMs: number): Promise<number> {
    this.ingress.retire();
    if (this.connections.size > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.onEmpty = undefined;
          resolve();
        };
        const timer = setTimeout(done, drainTimeoutMs);
        timer.unref();
        this.onEmpty = done;
      });
    }
    const cut = this.connections.size;
    await this.close(0);
    return cut;
  }

  /** Stops taking requests, gives in-flight ones `deadlineMs`, then stops plugins and upstreams. Once. */
  close(deadlineMs: number): Promise<void> {
    this.closing ??= this.shutdown(deadlineMs);
    return this.closing;
  }

  private async shutdown(deadlineMs: number): Promise<void> {
    await this.ingress.close(deadlineMs);
    for (const conn of this.connections) conn.socket.destroy();
    await Promise.all(this.plugins.map((p) => p.stop()));
    // Every client connection is gone by now: upstream exchanges still open have no one to
    // answer, so they get a short grace and are then destroyed.
    await this.upstreams.close(UPSTREAM_CLOSE_GRACE_MS);
  }
}

const UPSTREAM_CLOSE_GRACE_MS = 500;
