// The running proxy: listeners, the admin API, the optional demo origin, and the current runtime.
import net, { type AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { ListenError } from './errors.ts';
import { createLogger } from './log.ts';
import { CoreMetrics } from './metrics.ts';
import { AdminRoutes } from './admin/routes.ts';
import { startAdminServer, type AdminServer } from './admin/server.ts';
import { redactConfig, type LoadedConfig } from './config/load.ts';
import { startDemoOrigin } from './demo-origin.ts';
import { Runtime } from './runtime.ts';
import { acceptConnection } from './accept.ts';
import type { ListenerConfig } from './config/schema.ts';

export interface StartOptions {
  /** Defaults to a pino logger at the config's level on stdout. */
  log?: Logger;
  /** Skip prom-client's process metrics (tests start many instances in one process). */
  processMetrics?: boolean;
}

interface RunningListener {
  config: ListenerConfig;
  server: net.Server;
  port: number;
}

export class Weaver {
  readonly log: Logger;
  readonly metrics: CoreMetrics;
  readonly adminRoutes = new AdminRoutes();
  readonly listeners = new Map<string, RunningListener>();
  runtime!: Runtime;
  admin: AdminServer | undefined;
  demoOrigin: { port: number; close(): Promise<void> } | undefined;
  private loaded: LoadedConfig;
  private stopping = false;

  private constructor(loaded: LoadedConfig, opts: StartOptions) {
    this.loaded = loaded;
    this.log = opts.log ?? createLogger(loaded.config.log.level);
    this.metrics = new CoreMetrics(opts.processMetrics ?? true);
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

  private async boot(): Promise<void> {
    const { config } = this.loaded;
    if (config.demoOrigin) {
      this.demoOrigin = await startDemoOrigin(config.demoOrigin);
      this.log.info({ address: config.demoOrigin.address, port: this.demoOrigin.port }, 'demo origin listening');
    }
    this.runtime = await Runtime.build(config, {
      log: this.log,
      metrics: this.metrics,
      admin: this.adminRoutes,
      baseDir: this.loaded.dir,
    });
    for (const listener of config.listeners) await this.listen(listener);
    if (config.admin.enabled) {
      this.admin = await startAdminServer(
        config.admin,
        {
          routes: this.adminRoutes,
          registry: this.metrics.registry,
          get: {
            '/api/config': () => redactConfig(this.runtime.config),
            '/api/plugins': () => this.describePlugins(),
          },
          post: {},
          ready: () => !this.stopping && this.listeners.size > 0,
        },
        this.log,
      );
    }
  }

  private describePlugins(): unknown {
    const phases = this.runtime.hooks.phases();
    return this.runtime.plugins.map((p) => ({
      name: p.owner.name,
      version: p.definition.version,
      source: p.source,
      failure: p.owner.failure,
      timeoutMs: p.owner.timeoutMs,
      phases: Object.entries(phases)
        .filter(([, names]) => names.includes(p.owner.name))
        .map(([phase]) => phase),
      routes: this.adminRoutes.list().filter((r) => r.plugin === p.owner.name),
    }));
  }

  private async listen(config: ListenerConfig): Promise<void> {
    const server = net.createServer({ noDelay: true }, (socket) => {
      if (this.stopping) return void socket.destroy();
      acceptConnection(socket, config, this.runtime);
    });
    server.maxConnections = config.maxConnections;
    server.on('error', (err) => this.log.error({ err, listener: config.name }, 'listener error'));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        const where = `${config.address}:${config.port}`;
        const why =
          err.code === 'EADDRINUSE'
            ? `${where} is already in use (another Weaver, or another server?)`
            : err.code === 'EACCES'
              ? `no permission to bind ${where} (ports below 1024 need privileges)`
              : err.code === 'EADDRNOTAVAIL'
                ? `${config.address} is not an address of this machine`
                : `cannot listen on ${where}: ${err.message}`;
        reject(new ListenError(`listener "${config.name}": ${why}`, { cause: err }));
      };
      server.once('error', onError);
      server.listen({ port: config.port, host: config.address }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    this.listeners.set(config.name, { config, server, port });
    this.log.info({ listener: config.name, address: config.address, port, pool: config.pool }, 'listening');
  }

  /** Port a listener is bound to (useful with port 0). */
  port(listener: string): number {
    const l = this.listeners.get(listener);
    if (!l) throw new Error(`no listener named "${listener}"`);
    return l.port;
  }

  /** Stops accepting, lets in-flight requests finish within the deadline, then closes everything. */
  async stop(deadlineMs = 10_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const closing = [...this.listeners.values()].map(
      (l) => new Promise<void>((resolve) => l.server.close(() => resolve())),
    );
    if (this.runtime) await this.runtime.close(deadlineMs);
    await Promise.all(closing);
    await this.admin?.close();
    await this.demoOrigin?.close();
    this.log.info('stopped');
  }
}
