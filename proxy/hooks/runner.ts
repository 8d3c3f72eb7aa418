// The plugin chain, in the spirit of Fastify's lib/hooks.js: one array of entries per phase and
// one runner. Hooks run in config order. The sync path never allocates a promise: a hook's
// result is only awaited when it is a thenable, and only then does its time budget start.
import { PluginError } from '../errors.ts';
import { CONTINUE, checkDecision } from './decisions.ts';
import type {
  AnyDecision,
  CloseSummary,
  ConnectionContext,
  Direction,
  HandshakeInfo,
  HelloInfo,
  PhaseName,
  PluginHooks,
  RequestContext,
  ResponseInfo,
  UpstreamCandidate,
} from '../plugin/types.ts';

export interface HookOwner {
  readonly name: string;
  readonly timeoutMs: number;
  readonly failure: 'open' | 'closed';
}

interface Entry {
  readonly owner: HookOwner;
  // Hooks are called with two arguments whatever the phase; extra ones are ignored.
  readonly fn: (a: unknown, b?: unknown, c?: unknown) => unknown;
}

/** The decision a phase reached, and the total delay that plugins asked for on the way. */
export interface Outcome {
  readonly decision: AnyDecision;
  readonly delayMs: number;
}

export type FailureReporter = (owner: HookOwner, phase: PhaseName, error: PluginError) => void;

/** The outcome of a phase where nothing happened; shared, frozen. */
export const CONTINUED: Outcome = Object.freeze({ decision: CONTINUE, delayMs: 0 });

const ALLOWED: Record<'onConnection' | 'onClientHello' | 'onHandshakeDone' | 'onRequest', ReadonlySet<string>> = {
  onConnection: new Set(['continue', 'reject', 'delay']),
  onClientHello: new Set(['continue', 'reject', 'route', 'passthrough', 'delay']),
  onHandshakeDone: new Set(['continue', 'reject', 'delay']),
  onRequest: new Set(['continue', 'reject', 'respond', 'delay']),
};
type DecisionPhase = keyof typeof ALLOWED;

const PHASES: readonly PhaseName[] = [
  'onConnection',
  'onClientHello',
  'onHandshakeDone',
  'onRequest',
  'onUpstreamSelect',
  'onResponse',
  'onPacket',
  'onClose',
];

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

function asPluginError(owner: HookOwner, phase: string, err: unknown): PluginError {
  if (err instanceof PluginError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new PluginError('WEAVER_ERR_PLUGIN_THREW', owner.name, `${phase} threw: ${message}`, { cause: err });
}

/** Settles with the hook's value, or rejects with WEAVER_ERR_PLUGIN_TIMEOUT once the budget is spent. */
function withinBudget(owner: HookOwner, phase: string, pending: PromiseLike<unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new PluginError('WEAVER_ERR_PLUGIN_TIMEOUT', owner.name, `${phase} did not finish within ${owner.timeoutMs} ms`));
    }, owner.timeoutMs);
    pending.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

export class HookRunner {
  private readonly entries: Record<PhaseName, Entry[]>;
  private readonly report: FailureReporter;
  /** Whether any plugin registered any phase (with none, nothing may ever read `conn.hello`). */
  readonly any: boolean;

  constructor(plugins: ReadonlyArray<{ owner: HookOwner; hooks: PluginHooks }>, report: FailureReporter) {
    this.report = report;
    this.entries = Object.fromEntries(PHASES.map((p) => [p, [] as Entry[]])) as Record<PhaseName, Entry[]>;
    for (const { owner, hooks } of plugins) {
      for (const phase of PHASES) {
        const fn = hooks[phase];
        if (typeof fn === 'function') this.entries[phase].push({ owner, fn: fn.bind(hooks) as Entry['fn'] });
      }
    }
    this.any = PHASES.some((p) => this.entries[p].length > 0);
  }

  has(phase: PhaseName): boolean {
    return this.entries[phase].length > 0;
  }

  /** Plugin names per phase, for /api/plugins and docs. */
  phases(): Record<PhaseName, string[]> {
    return Object.fromEntries(PHASES.map((p) => [p, this.entries[p].map((e) => e.owner.name)])) as Record<PhaseName, string[]>;
  }

  connection(conn: ConnectionContext): Outcome | Promise<Outcome> {
    return this.decide('onConnection', conn, undefined);
  }

  clientHello(conn: ConnectionContext, hello: HelloInfo): Outcome | Promise<Outcome> {
    return this.decide('onClientHello', conn, hello);
  }

  handshakeDone(conn: ConnectionContext, tls: HandshakeInfo): Outcome | Promise<Outcome> {
    return this.decide('onHandshakeDone', conn, tls);
  }

  request(req: RequestContext): Outcome | Promise<Outcome> {
    return this.decide('onRequest', req, undefined);
  }

  /**
   * Each plugin sees the candidates as the previous one left them. A pick ends the chain with
   * that one server first; a ranking reorders (and may drop) candidates for the next plugin.
   */
  upstreamSelect(
    req: RequestContext,
    candidates: readonly UpstreamCandidate[],
  ): readonly UpstreamCandidate[] | Promise<readonly UpstreamCandidate[]> {
    const list = this.entries.onUpstreamSelect;
    let current = candidates;
    for (let i = 0; i < list.length; i++) {
      const entry = list[i]!;
      let result: unknown;
      try {
        result = entry.fn(req, current);
      } catch (err) {
        this.fail(entry, 'onUpstreamSelect', err);
        continue;
      }
      if (isThenable(result)) return this.selectAsync(req, current, i, result);
      const next = this.applySelection(entry, current, result);
      if (next.picked) return next.list;
      current = next.list;
    }
    return current;
  }

  response(req: RequestContext, res: ResponseInfo): void {
    this.notify('onResponse', req, res);
  }

  close(conn: ConnectionContext, summary: CloseSummary): void {
    this.notify('onClose', conn, summary);
  }

  /** true when a plugin asked to cut the flow. */
  packet(conn: ConnectionContext, chunk: Uint8Array, direction: Direction): boolean {
    const list = this.entries.onPacket;
    for (let i = 0; i < list.length; i++) {
      const entry = list[i]!;
      try {
        const verdict = entry.fn(conn, chunk, direction);
        if (verdict === 'cut') return true;
        if (verdict !== undefined) {
          throw new PluginError('WEAVER_ERR_PLUGIN_BAD_DECISION', entry.owner.name, `onPacket returned ${String(verdict)}: expected 'cut' or nothing`);
        }
      } catch (err) {
        if (this.fail(entry, 'onPacket', err)) return true;
      }
    }
    return false;
  }

  // ---- internals -------------------------------------------------------------------------------

  /** Reports a failure; true when the owner's policy says the connection must go. */
  private fail(entry: Entry, phase: PhaseName, err: unknown): boolean {
    const error = asPluginError(entry.owner, phase, err);
    this.report(entry.owner, phase, error);
    return entry.owner.failure === 'closed';
  }

  private failureOutcome(entry: Entry, phase: PhaseName, err: unknown, delayMs: number): Outcome | undefined {
    if (!this.fail(entry, phase, err)) return undefined;
    return { decision: { action: 'reject', reason: `plugin ${entry.owner.name} failed in ${phase}`, status: 503 }, delayMs };
  }

  private decide(phase: DecisionPhase, a: unknown, b: unknown): Outcome | Promise<Outcome> {
    const list = this.entries[phase];
    if (list.length === 0) return CONTINUED;
    return this.decideFrom(phase, a, b, 0, 0);
  }

  private decideFrom(phase: DecisionPhase, a: unknown, b: unknown, start: number, delayMs: number): Outcome | Promise<Outcome> {
    const list = this.entries[phase];
    for (let i = start; i < list.length; i++) {
      const entry = list[i]!;
      let result: unknown;
      try {
        result = entry.fn(a, b);
      } catch (err) {
        const out = this.failureOutcome(entry, phase, err, delayMs);
        if (out) return out;
        continue;
      }
      if (isThenable(result)) return this.decideAsync(phase, a, b, i, delayMs, result);
      const step = this.step(entry, phase, result, delayMs);
      if (typeof step !== 'number') return step;
      delayMs = step;
    }
    return delayMs === 0 ? CONTINUED : { decision: CONTINUE, delayMs };
  }

  private async decideAsync(
    phase: DecisionPhase,
    a: unknown,
    b: unknown,
    index: number,
    delayMs: number,
    pending: PromiseLike<unknown>,
  ): Promise<Outcome> {
    const entry = this.entries[phase][index]!;
    let result: unknown;
    try {
      result = await withinBudget(entry.owner, phase, pending);
    } catch (err) {
      const out = this.failureOutcome(entry, phase, err, delayMs);
      if (out) return out;
      return this.decideFrom(phase, a, b, index + 1, delayMs);
    }
    const step = this.step(entry, phase, result, delayMs);
    if (typeof step !== 'number') return step;
    return this.decideFrom(phase, a, b, index + 1, step);
  }

  /** A terminal outcome, or the new delay total when the chain goes on. */
  private step(entry: Entry, phase: DecisionPhase, result: unknown, delayMs: number): Outcome | number {
    let decision: AnyDecision;
    try {
      decision = checkDecision(entry.owner.name, phase, result, ALLOWED[phase]);
    } catch (err) {
      return this.failureOutcome(entry, phase, err, delayMs) ?? delayMs;
    }
    if (decision.action === 'continue') return delayMs;
    if (decision.action === 'delay') return delayMs + decision.ms;
    return { decision, delayMs };
  }

  private async selectAsync(
    req: RequestContext,
    current: readonly UpstreamCandidate[],
    index: number,
    pending: PromiseLike<unknown>,
  ): Promise<readonly UpstreamCandidate[]> {
    const list = this.entries.onUpstreamSelect;
    for (let i = index; i < list.length; i++) {
      const entry = list[i]!;
      try {
        const result = i === index ? await withinBudget(entry.owner, 'onUpstreamSelect', pending) : await entry.fn(req, current);
        const next = this.applySelection(entry, current, result);
        if (next.picked) return next.list;
        current = next.list;
      } catch (err) {
        this.fail(entry, 'onUpstreamSelect', err);
      }
    }
    return current;
  }

  private applySelection(
    entry: Entry,
    current: readonly UpstreamCandidate[],
    result: unknown,
  ): { list: readonly UpstreamCandidate[]; picked: boolean } {
    if (result === undefined || result === null) return { list: current, picked: false };
    const bad = (why: string) => {
      this.fail(entry, 'onUpstreamSelect', new PluginError('WEAVER_ERR_PLUGIN_BAD_DECISION', entry.owner.name, `onUpstreamSelect ${why}`));
      return { list: current, picked: false };
    };
    if (Array.isArray(result)) {
      if (result.length === 0 || !result.every((c) => current.includes(c))) return bad('must rank the candidates it was given');
      return { list: result as UpstreamCandidate[], picked: false };
    }
    if (!current.includes(result as UpstreamCandidate)) return bad('picked a server that is not a candidate');
    const picked = result as UpstreamCandidate;
    return { list: [picked, ...current.filter((c) => c !== picked)], picked: true };
  }

  /** Phases that only observe: never block the data path; errors and overruns are reported. */
  private notify(phase: 'onResponse' | 'onClose', a: unknown, b: unknown): void {
    const list = this.entries[phase];
    for (let i = 0; i < list.length; i++) {
      const entry = list[i]!;
      try {
        const result = entry.fn(a, b);
        if (isThenable(result)) {
          withinBudget(entry.owner, phase, result).catch((err: unknown) => this.fail(entry, phase, err));
        }
      } catch (err) {
        this.fail(entry, phase, err);
      }
    }
  }
}
