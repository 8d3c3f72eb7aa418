// The primary's side of its workers: forking, the boot handshake, calls with replies, and
// replacing a worker that died when nobody asked it to. Knows nothing of admin or reload.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { WeaverError } from '../errors.ts';
import type { ErrorBody } from '../admin/reload-reply.ts';
import { RestartBackoff } from './backoff.ts';
import { isOurs, type ToPrimary, type ToWorker } from './messages.ts';

export interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  ready: boolean;
  startedAt: number;
  restarts: number;
  readonly backoff: RestartBackoff;
  respawnTimer: NodeJS.Timeout | undefined;
}

interface PendingCall {
  worker: Worker;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export interface WorkerPoolEvents {
  /** The config text and file a (re)started worker should run. */
  config(): { text: string; file: string };
  restarted(slot: Slot): void;
  readyChanged(): void;
}

/** A worker's refusal, as it said it over IPC. */
export class WorkerCallError extends WeaverError {
  readonly issues: ErrorBody['issues'];
  readonly plugin: string | undefined;
  constructor(body: ErrorBody) {
    super(body.code, body.error);
    this.name = 'WorkerCallError';
    this.issues = body.issues;
    this.plugin = body.plugin;
  }
}

export class WorkerPool {
  readonly slots: Slot[] = [];
  private readonly log: Logger;
  private readonly events: WorkerPoolEvents;
  private readonly calls = new Map<number, PendingCall>();
  private nextCall = 1;
  private booted = false;
  private stopping = false;
  private bootFailed: ((err: Error) => void) | undefined;
  private readonly exitWaiters = new Set<() => void>();

  constructor(count: number, log: Logger, events: WorkerPoolEvents) {
    this.log = log;
    this.events = events;
    for (let index = 0; index < count; index++) {
      this.slots.push({ index, worker: undefined, ready: false, startedAt: 0, restarts: 0, backoff: new RestartBackoff(), respawnTimer: undefined });
    }
  }

  /** Forks every worker; resolves when all are ready, rejects if one exits first. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.bootFailed = reject;
      const check = () => {
        if (this.slots.every((s) => s.ready)) {
          this.booted = true;
          this.bootFailed = undefined;
          resolve();
        }
      };
      this.onReady = check;
      for (const slot of this.slots) this.fork(slot);
    });
  }

  private onReady: () => void = () => undefined;

  ready(): Slot[] {
    return this.slots.filter((s) => s.ready && s.worker?.isConnected());
  }

  /** Sends a call to one worker; resolves with its value, rejects with its error or after `timeoutMs`. */
  call(slot: Slot, message: DistributiveOmit<Extract<ToWorker, { weaver: 'call' }>, 'id'>, timeoutMs: number): Promise<unknown> {
    const worker = slot.worker;
    if (!worker?.isConnected()) return Promise.reject(new WeaverError('WEAVER_ERR_WORKER', `worker ${slot.index} is not running`));
    const id = this.nextCall++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.calls.delete(id);
        reject(new WeaverError('WEAVER_ERR_WORKER', `worker ${slot.index} (pid ${worker.process.pid}) did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.calls.set(id, { worker, resolve, reject, timer });
      worker.send({ ...message, id } as ToWorker);
    });
  }

  /** Asks every worker to drain and exit; kills the ones still there after `deadlineMs`. */
  async stop(deadlineMs: number): Promise<void> {
    this.stopping = true;
    for (const slot of this.slots) clearTimeout(slot.respawnTimer);
    const alive = () => this.slots.filter((s) => s.worker !== undefined && !s.worker.isDead());
    for (const slot of alive()) {
      // A worker still booting serves nothing and has no 'stop' handler yet: SIGTERM ends it.
      if (!slot.ready) slot.worker!.process.kill('SIGTERM');
      else if (slot.worker!.isConnected()) slot.worker!.send({ weaver: 'stop' } satisfies ToWorker);
    }
    const allGone = new Promise<void>((resolve) => {
      const check = () => {
        if (alive().length > 0) return;
        this.exitWaiters.delete(check);
        resolve();
      };
      this.exitWaiters.add(check);
      check();
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)));
    await Promise.race([allGone, late]);
    clearTimeout(timer);
    for (const slot of alive()) {
      this.log.warn({ worker: slot.index, workerPid: slot.worker!.process.pid }, 'worker did not stop in time: killing it');
      slot.worker!.process.kill('SIGKILL');
    }
    await allGone;
  }

  private fork(slot: Slot): void {
    slot.respawnTimer = undefined;
    const worker = cluster.fork();
    slot.worker = worker;
    slot.ready = false;
    slot.startedAt = Date.now();
    worker.on('message', (m: unknown) => this.onMessage(slot, worker, m));
    worker.on('error', (err) => this.log.warn({ err, worker: slot.index }, 'worker IPC error'));
    worker.on('exit', (code, signal) => this.onExit(slot, worker, code, signal));
  }

  private onMessage(slot: Slot, worker: Worker, m: unknown): void {
    if (!isOurs<ToPrimary>(m)) return;
    if (m.weaver === 'boot') {
      worker.send({ weaver: 'config', ...this.events.config() } satisfies ToWorker);
    } else if (m.weaver === 'ready') {
      slot.ready = true;
      this.log.info({ worker: slot.index, workerPid: worker.process.pid, listeners: m.listeners }, 'worker ready');
      this.events.readyChanged();
      this.onReady();
    } else if (m.weaver === 'result') {
      const pending = this.calls.get(m.id);
      if (!pending) return;
      this.calls.delete(m.id);
      clearTimeout(pending.timer);
      if (m.ok) pending.resolve(m.value);
      else pending.reject(new WorkerCallError(m.error));
    }
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.ready = false;
    this.events.readyChanged();
    for (const [id, pending] of this.calls) {
      if (pending.worker !== worker) continue;
      this.calls.delete(id);
      clearTimeout(pending.timer);
      pending.reject(new WeaverError('WEAVER_ERR_WORKER', `worker ${slot.index} exited before it answered`));
    }
    for (const check of [...this.exitWaiters]) check();
    const fields = { worker: slot.index, workerPid: worker.process.pid, code, signal };
    if (this.stopping) {
      this.log.info(fields, 'worker exited');
      return;
    }
    if (!this.booted) {
      this.log.error(fields, 'worker exited before it was ready');
      this.bootFailed?.(new WeaverError('WEAVER_ERR_WORKER', `worker ${slot.index} exited (code ${code}, signal ${signal}) before it was ready`));
      return;
    }
    const delayMs = slot.backoff.next(Date.now() - slot.startedAt);
    this.log.error({ ...fields, restartInMs: delayMs }, 'worker died: replacing it');
    slot.respawnTimer = setTimeout(() => {
      slot.restarts++;
      this.fork(slot);
      this.events.restarted(slot);
    }, delayMs);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
