// The running proxy: listeners, the admin API, the optional demo origin, and the current runtime.
// A reload builds the next runtime beside the current one and only then switches: listeners kept
// by the new config hand new connections to it at once, the old runtime drains and closes.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { ConfigError, WeaverError } from './errors.ts';
import { createLogger } from './log.ts';
import { CoreMetrics } from './metrics.ts';
import { createAdminHandler, pluginRoute, type AdminHandle } from './admin/handler.ts';
import { describePlugins } from './admin/plugins.ts';
import { reloadReply } from './admin/reload-reply.ts';
import { startAdminServer, type AdminServer } from './admin/server.ts';
import { checkConfig } from './config/check.ts';
import { redactConfig, type LoadedConfig } from './config/load.ts';
import type { ListenerConfig, WeaverConfig } from './config/schema.ts';
import { startDemoOrigin, type DemoOrigin } from './demo-origin.ts';
import { ListenerSet } from './listeners.ts';
import { restartRequired, type ReloadSummary } from './reload-summary.ts';
import { Runtime } from './runtime.ts';
import { acceptConnection } from './accept.ts';
import { openStateStore } from './store/open.ts';
import type { StateStore } from './store/types.ts';

export type { ReloadSummary } from './reload-summary.ts';

export interface StartOptions {
  /** Defaults to a pino logger at the config's level on stdout. */
  log?: Logger;
  /** Skip prom-client's process metrics (tests start many instances in one process). */
  processMetrics?: boolean;
  /** Serve the admin API if the config enables it (default). A cluster worker leaves it to the primary. */
  admin?: boolean;
  /** Start the config's demo origin (default). A cluster worker leaves it to the primary. */
  demoOrigin?: boolean;
}

export class Weaver {
  readonly log: Logger;
  readonly metrics: CoreMetrics;
  /** The admin API without HTTP: the admin listener uses it, and a cluster worker answers the primary with it. */
  readonly handleAdmin: AdminHandle;
  runtime!: Runtime;
  admin: AdminServer | undefined;
  demoOrigin: DemoOrigin | undefined;
  /** Plugin state (api.store), one per process and shared by every runtime across reloads. */
  store: StateStore | undefined;
  private loaded: LoadedConfig;
  private readonly opts: StartOptions;
  private readonly listeners: ListenerSet;
  /** Runtimes a reload replaced that still have connections. */
  private readonly retiring = new Set<Runtime>();
  private generation = 1;
  /** Reloads run one at a time, in the order asked. */
  private reloadQueue: Promise<unknown> = Promise.resolve();
  private stopping: Promise<void> | undefined;

  private constructor(loaded: LoadedConfig, opts: StartOptions) {
    this.loaded = loaded;
    this.opts = opts;
    this.log = opts.log ?? createLogger(loaded.config.log.level);
    this.metrics = new CoreMetrics(opts.processMetrics ?? true);
    this.listeners = new ListenerSet((socket, listener) => this.accept(socket, listener), this.log);
    this.handleAdmin = createAdminHandler(
      {
        metrics: async () => ({
          status: 200,
          body: await this.metrics.registry.metrics(),
          headers: { 'content-type': this.metrics.registry.contentType },
        }),
        ready: () => this.stopping === undefined && this.listeners.size > 0,
        get: {
          '/api/config': () => redactConfig(this.runtime.config),
          '/api/plugins': () => describePlugins(this.runtime),
          '/api/upstreams': () => this.runtime.upstreams.describe(),
        },
        post: { '/api/reload': () => reloadReply(() => this.reloadFromFile()) },
        // Read at call time: after a reload the new runtime's plugins own the routes.
        other: (call, url) => pluginRoute(this.runtime.adminRoutes, call, url),
      },
      this.log,
    );
  }

  static async start(loaded: LoadedConfig, opts: StartOptions = {}): Promise<Weaver> {
    const weaver = new Weaver(loaded, opts);
    try {
      await weaver.boot();
    } catch (err) {
      await weaver.stop(0).catch(() => undefined);
      throw err;
    }
    return weaver;
  }

  get config(): WeaverConfig {
    return this.loaded.config;
  }

  /** The config file this Weaver reloads from. */
  get file(): string {
    return this.loaded.file;
  }

  private async boot(): Promise<void> {
    const { config } = this.loaded;
    if (config.demoOrigin && this.opts.demoOrigin !== false) {
      this.demoOrigin = await startDemoOrigin(config.demoOrigin);
      this.log.info({ address: config.demoOrigin.address, port: this.demoOrigin.port }, 'demo origin listening');
    }
    this.store = openStateStore(config);
    this.runtime = await Runtime.build(config, { log: this.log, metrics: this.metrics, baseDir: this.loaded.dir, store: this.store });
    (await this.listeners.prepare(config.listeners)).commit();
    if (config.admin.enabled && this.opts.admin !== false) {
      this.admin = await startAdminServer(config.admin, { handle: this.handleAdmin, token: () => this.config.admin.token }, this.log);
    }
  }

  private accept(socket: Socket, listener: ListenerConfig): void {
    if (this.stopping) return void socket.destroy();
    acceptConnection(socket, listener, this.runtime);
  }

  /** Port a listener is bound to (useful with port 0). */
  port(listener: string): number {
    const port = this.listeners.port(listener);
    if (port === undefined) throw new Error(`no listener named "${listener}"`);
    return port;
  }

  /** Where each listener is bound, ports resolved. */
  listenerAddresses(): Array<{ name: string; address: string; port: number }> {
    return this.listeners.list();
  }

  /** Re-reads the config file, checks it as `weaver check` does, and applies it. */
  reloadFromFile(): Promise<ReloadSummary> {
    return this.queueReload(async () => {
      const checked = await checkConfig(this.loaded.file);
      if (!checked.ok) throw new ConfigError(checked.issues);
      return checked.loaded;
    });
  }

  /**
   * Applies a loaded config. Everything it needs is built first; if any of it fails (a
   * certificate, a plugin, a port) this throws and the running config is untouched.
   */
  reload(loaded: LoadedConfig): Promise<ReloadSummary> {
    return this.queueReload(async () => loaded);
  }

  private queueReload(load: () => Promise<LoadedConfig>): Promise<ReloadSummary> {
    const run = this.reloadQueue.then(async () => {
      try {
        const summary = await this.apply(await load());
        this.metrics.reloads.inc({ result: 'ok' });
        this.log.info(summary, 'reloaded');
        return summary;
      } catch (err) {
        this.metrics.reloads.inc({ result: 'refused' });
        const e = err as WeaverError & { issues?: unknown };
        this.log.error({ code: e.code, issues: e.issues, plugin: (e as { plugin?: string }).plugin }, `reload refused: ${e.message}`);
        throw err;
      }
    });
    this.reloadQueue = run.catch(() => undefined);
    return run;
  }

  private async apply(loaded: LoadedConfig): Promise<ReloadSummary> {
    if (this.stopping) throw new WeaverError('WEAVER_ERR_STOPPING', 'Weaver is stopping');
    const { config } = loaded;
    const next = await Runtime.build(config, { log: this.log, metrics: this.metrics, baseDir: loaded.dir, store: this.store! });
    let prepared;
    try {
      prepared = await this.listeners.prepare(config.listeners);
      if (this.stopping) {
        await prepared.abort();
        throw new WeaverError('WEAVER_ERR_STOPPING', 'Weaver is stopping');
      }
    } catch (err) {
      await next.close(0);
      throw err;
    }
    const before = this.loaded.config;
    const old = this.runtime;
    // The switch: from here on every accept, on kept and new listeners alike, gets `next`.
    this.runtime = next;
    this.loaded = loaded;
    prepared.commit();
    this.generation++;
    if (!this.opts.log) this.log.level = config.log.level;
    const draining = old.connections.size;
    this.retire(old);
    const summary: ReloadSummary = {
      file: loaded.file,
      generation: this.generation,
      listeners: prepared.changes,
      routes: config.routes.length,
      upstreams: Object.keys(config.upstreams),
      plugins: next.plugins.map((p) => p.owner.name),
      draining,
      restartRequired: restartRequired(before, config),
    };
    if (summary.restartRequired.length > 0) {
      this.log.warn({ keys: summary.restartRequired }, 'these settings changed but only apply after a restart');
    }
    return summary;
  }

  private retire(old: Runtime): void {
    this.retiring.add(old);
    this.metrics.runtimesDraining.set(this.retiring.size);
    const connections = old.connections.size;
    this.log.info({ connections, drainTimeoutMs: this.config.drainTimeoutMs }, 'previous runtime draining');
    old.retire(this.config.drainTimeoutMs).then(
      (cut) => {
        this.retiring.delete(old);
        this.metrics.runtimesDraining.set(this.retiring.size);
        if (cut > 0) this.log.warn({ cut }, 'previous runtime closed: the drain timeout cut connections still open');
        else this.log.info({ cut }, 'previous runtime closed');
      },
      (err: unknown) => this.log.error({ err }, 'closing the previous runtime failed'),
    );
  }

  /**
   * Stops accepting, lets in-flight requests finish within the deadline (the config's
   * drainTimeoutMs by default), then closes everything, retiring runtimes included.
   */
  stop(deadlineMs = this.config.drainTimeoutMs): Promise<void> {
    this.stopping ??= this.shutdown(deadlineMs);
    return this.stopping;
  }

  private async shutdown(deadlineMs: number): Promise<void> {
    const closing = this.listeners.closeAll();
    this.log.info({ deadlineMs }, 'stopped accepting; draining');
    const runtimes = [...this.retiring, ...(this.runtime ? [this.runtime] : [])];
    await Promise.all(runtimes.map((rt) => rt.close(deadlineMs)));
    await closing;
    // After the plugins' onStop, so what they saved there reaches the file.
    await this.store?.close().catch((err: unknown) => this.log.error({ err }, 'saving plugin state failed'));
    await this.admin?.close();
    await this.demoOrigin?.close();
    this.log.info('stopped');
  }
}
