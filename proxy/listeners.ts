// The TCP listeners, kept across reloads. A reload is two steps so it can still be refused after
// the first: `prepare` binds what the new config adds (and fails cleanly if it cannot), `commit`
// switches kept listeners to their new settings and stops the ones the new config dropped.
// Sockets are handed out with the listener's current config; whichever runtime is current takes
// them, so a kept listener never closes and never misses a connection.
import net, { type AddressInfo, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { ListenError } from './errors.ts';
import type { ListenerConfig } from './config/schema.ts';

export type AcceptFn = (socket: Socket, listener: ListenerConfig) => void;

interface Running {
  config: ListenerConfig;
  readonly server: net.Server;
  port: number;
}

export interface ListenerChanges {
  kept: string[];
  started: string[];
  stopped: string[];
}

export interface PreparedListeners {
  readonly changes: ListenerChanges;
  /** Makes the new set current; dropped listeners stop accepting (their connections carry on). */
  commit(): void;
  /** Undoes `prepare`: closes what it bound. */
  abort(): Promise<void>;
}

function sameBind(a: ListenerConfig, b: ListenerConfig): boolean {
  return a.address === b.address && a.port === b.port;
}

export class ListenerSet {
  private readonly running = new Map<string, Running>();
  private readonly accept: AcceptFn;
  private readonly log: Logger;

  constructor(accept: AcceptFn, log: Logger) {
    this.accept = accept;
    this.log = log;
  }

  /** Port a listener is bound to (useful with port 0). */
  port(name: string): number | undefined {
    return this.running.get(name)?.port;
  }

  get size(): number {
    return this.running.size;
  }

  list(): Array<{ name: string; address: string; port: number }> {
    return [...this.running.values()].map((r) => ({ name: r.config.name, address: r.config.address, port: r.port }));
  }

  /**
   * Matches the new listeners with the running ones: same name and bind address, or (a rename)
   * the same fixed address and port. Port 0 is only kept under the same name: it means "any".
   */
  async prepare(configs: readonly ListenerConfig[]): Promise<PreparedListeners> {
    const free = new Map(this.running);
    const kept = new Map<string, { running: Running; config: ListenerConfig }>();
    const toStart: ListenerConfig[] = [];
    for (const config of configs) {
      const byName = free.get(config.name);
      let match = byName && sameBind(byName.config, config) ? config.name : undefined;
      if (match === undefined && config.port !== 0) {
        match = [...free.entries()].find(([, r]) => sameBind(r.config, config))?.[0];
      }
      if (match === undefined) {
        toStart.push(config);
        continue;
      }
      kept.set(config.name, { running: free.get(match)!, config });
      free.delete(match);
    }
    const started: Running[] = [];
    try {
      for (const config of toStart) started.push(await this.bind(config));
    } catch (err) {
      await Promise.all(started.map((r) => closeServer(r.server)));
      throw err;
    }
    const changes: ListenerChanges = {
      kept: [...kept.keys()],
      started: toStart.map((c) => c.name),
      stopped: [...free.values()].map((r) => r.config.name),
    };
    return {
      changes,
      commit: () => {
        this.running.clear();
        for (const [name, { running, config }] of kept) {
          running.config = config;
          running.server.maxConnections = config.maxConnections;
          this.running.set(name, running);
        }
        for (const r of started) {
          this.running.set(r.config.name, r);
          this.log.info({ listener: r.config.name, address: r.config.address, port: r.port, pool: r.config.pool }, 'listening');
        }
        for (const r of free.values()) {
          void closeServer(r.server);
          this.log.info({ listener: r.config.name, address: r.config.address, port: r.port }, 'listener stopped accepting');
        }
      },
      abort: async () => {
        await Promise.all(started.map((r) => closeServer(r.server)));
      },
    };
  }

  /** Stops accepting everywhere; resolves once every listener's connections have closed. */
  closeAll(): Promise<void> {
    const closing = [...this.running.values()].map((r) => closeServer(r.server));
    this.running.clear();
    return Promise.all(closing).then(() => undefined);
  }

  private async bind(config: ListenerConfig): Promise<Running> {
    const running: Running = { config, server: net.createServer({ noDelay: true }), port: 0 };
    running.server.on('connection', (socket: Socket) => this.accept(socket, running.config));
    running.server.maxConnections = config.maxConnections;
    running.server.on('error', (err) => this.log.error({ err, listener: running.config.name }, 'listener error'));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => reject(listenError(config, err));
      running.server.once('error', onError);
      running.server.listen({ port: config.port, host: config.address }, () => {
        running.server.off('error', onError);
        resolve();
      });
    });
    running.port = (running.server.address() as AddressInfo).port;
    return running;
  }
}

function listenError(config: ListenerConfig, err: NodeJS.ErrnoException): ListenError {
  const where = `${config.address}:${config.port}`;
  const why =
    err.code === 'EADDRINUSE'
      ? `${where} is already in use (another Weaver, or another server?)`
      : err.code === 'EACCES'
        ? `no permission to bind ${where} (ports below 1024 need privileges)`
        : err.code === 'EADDRNOTAVAIL'
          ? `${config.address} is not an address of this machine`
          : `cannot listen on ${where}: ${err.message}`;
  return new ListenError(`listener "${config.name}": ${why}`, { cause: err });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
