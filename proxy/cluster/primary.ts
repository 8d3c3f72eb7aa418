// The cluster primary (`workers` > 1): it serves no traffic itself. It forks the workers, runs
// the admin API and the demo origin once for all of them, checks a new config once before any
// worker sees it, and drains every worker on stop. Node's cluster module shares the listeners:
// with round-robin scheduling (the Linux default, kept) the primary accepts each connection and
// hands it to the next worker in turn.
import cluster from 'node:cluster';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Logger } from 'pino';
import { ConfigError, WeaverError } from '../errors.ts';
import { createAdminHandler } from '../admin/handler.ts';
import { reloadReply } from '../admin/reload-reply.ts';
import { startAdminServer, type AdminServer } from '../admin/server.ts';
import { checkConfigText } from '../config/check.ts';
import { readConfigFile, type LoadedConfig } from '../config/load.ts';
import type { WeaverConfig } from '../config/schema.ts';
import { startDemoOrigin, type DemoOrigin } from '../demo-origin.ts';
import { clusterMetrics, forwardToWorkers } from './primary-admin.ts';
import { WorkerCallError, WorkerPool } from './workers.ts';

/** A reload takes each worker's build and listener work; a worker slower than this is reported. */
const RELOAD_CALL_MS = 60_000;

export interface ClusterReloadSummary {
  file: string;
  workers: Array<{ worker: number; pid: number | undefined } & Record<string, unknown>>;
}

export class ClusterPrimary {
  readonly log: Logger;
  readonly pool: WorkerPool;
  private readonly file: string;
  private text: string;
  private config: WeaverConfig;
  private admin: AdminServer | undefined;
  private demoOrigin: DemoOrigin | undefined;
  private stopping: Promise<void> | undefined;
  private reloadQueue: Promise<unknown> = Promise.resolve();
  private readonly registry = new Registry();
  private readonly workersGauge = new Gauge({ name: 'weaver_cluster_workers', help: 'Workers ready to serve', registers: [this.registry] });
  private readonly restarts = new Counter({
    name: 'weaver_cluster_worker_restarts_total',
    help: 'Workers started again after one died unexpectedly',
    registers: [this.registry],
  });
  private readonly reloads = new Counter({
    name: 'weaver_cluster_reloads_total',
    help: 'Reloads the primary ran, by result (ok, refused, partial)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  private constructor(loaded: LoadedConfig, text: string, workers: number, log: Logger) {
    this.file = loaded.file;
    this.text = text;
    this.config = loaded.config;
    this.log = log;
    this.pool = new WorkerPool(workers, log, {
      config: () => ({ text: this.text, file: this.file }),
      restarted: () => this.restarts.inc(),
      readyChanged: () => this.workersGauge.set(this.pool.ready().length),
    });
  }

  /** `loaded` and `text` have passed checkConfigText. */
  static async start(loaded: LoadedConfig, text: string, workers: number, log: Logger): Promise<ClusterPrimary> {
    cluster.schedulingPolicy = cluster.SCHED_RR;
    const primary = new ClusterPrimary(loaded, text, workers, log);
    try {
      await primary.boot();
    } catch (err) {
      await primary.stop().catch(() => undefined);
      throw err;
    }
    return primary;
  }

  private async boot(): Promise<void> {
    const { config } = this;
    // Before the workers: their first requests may already go to it.
    if (config.demoOrigin) {
      this.demoOrigin = await startDemoOrigin(config.demoOrigin);
      this.log.info({ address: config.demoOrigin.address, port: this.demoOrigin.port }, 'demo origin listening');
    }
    this.log.info({ workers: this.pool.slots.length }, 'starting workers');
    await this.pool.start();
    if (config.admin.enabled) {
      const handle = createAdminHandler(
        {
          metrics: () => clusterMetrics(this.pool, this.registry),
          ready: () => this.stopping === undefined && this.pool.ready().length === this.pool.slots.length,
          get: { '/api/workers': () => this.describeWorkers() },
          post: { '/api/reload': () => reloadReply(() => this.reload()) },
          other: (call) => forwardToWorkers(this.pool, call),
        },
        this.log,
      );
      this.admin = await startAdminServer(config.admin, { handle, token: () => this.config.admin.token }, this.log);
    }
    this.log.info({ workers: this.pool.slots.length }, 'cluster ready');
  }

  private describeWorkers(): unknown {
    return this.pool.slots.map((s) => ({
      worker: s.index,
      pid: s.worker?.process.pid,
      ready: s.ready,
      startedAt: new Date(s.startedAt).toISOString(),
      restarts: s.restarts,
    }));
  }

  /**
   * Checks the file once, as `weaver check` does, then has every worker apply the same text.
   * A worker that replaced a dead one later gets the text the others run.
   */
  reload(): Promise<ClusterReloadSummary> {
    const run = this.reloadQueue.then(() => this.reloadAll());
    this.reloadQueue = run.catch(() => undefined);
    return run;
  }

  private async reloadAll(): Promise<ClusterReloadSummary> {
    if (this.stopping) throw new WeaverError('WEAVER_ERR_STOPPING', 'Weaver is stopping');
    let text: string;
    let config: WeaverConfig;
    try {
      text = await readConfigFile(this.file);
      const checked = await checkConfigText(text, this.file);
      if (!checked.ok) throw new ConfigError(checked.issues);
      config = checked.loaded.config;
    } catch (err) {
      this.refused(err, 'refused');
      throw err;
    }
    const slots = this.pool.ready();
    const outcomes = await Promise.allSettled(slots.map((s) => this.pool.call(s, { weaver: 'call', op: 'reload', text, file: this.file }, RELOAD_CALL_MS)));
    const applied = outcomes.filter((o) => o.status === 'fulfilled').length;
    if (applied > 0) {
      // Replacements must run what the serving workers run now.
      this.text = text;
      this.config = config;
      this.log.level = config.log.level;
    }
    const failures = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ worker: slots[i]!.index, reason: o.reason as Error }] : []));
    if (failures.length > 0) {
      const first = failures[0]!.reason;
      const err =
        applied === 0
          ? first instanceof WorkerCallError
            ? first
            : new WeaverError('WEAVER_ERR_WORKER', first.message)
          : new WeaverError(
              'WEAVER_ERR_RELOAD_PARTIAL',
              `${applied} of ${slots.length} workers applied the config; ` + failures.map((f) => `worker ${f.worker}: ${f.reason.message}`).join('; '),
            );
      this.refused(err, applied === 0 ? 'refused' : 'partial');
      throw err;
    }
    this.reloads.inc({ result: 'ok' });
    const summary: ClusterReloadSummary = {
      file: this.file,
      workers: outcomes.map((o, i) => ({ worker: slots[i]!.index, pid: slots[i]!.worker?.process.pid, ...((o as PromiseFulfilledResult<object>).value ?? {}) })),
    };
    this.log.info({ workers: slots.length }, 'reloaded');
    return summary;
  }

  private refused(err: unknown, result: 'refused' | 'partial'): void {
    this.reloads.inc({ result });
    const e = err as WeaverError & { issues?: unknown };
    this.log.error({ code: e.code, issues: e.issues }, `reload refused: ${e.message}`);
  }

  /** Drains every worker (each within the config's drainTimeoutMs), then closes the admin API and demo origin. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // Each worker already bounds its own drain; the margin covers its exit.
      await this.pool.stop(this.config.drainTimeoutMs + 5_000);
      await this.admin?.close();
      await this.demoOrigin?.close();
      this.log.info('stopped');
    })();
    return this.stopping;
  }
}
