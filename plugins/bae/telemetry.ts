// The plugin's Prometheus metrics (weaver_bae_…) and its own score histogram and routing
// counts for the admin API. Per handshake, only plain counts and a buffered score change; they
// reach prom-client on a timer.
import type { PluginMetrics } from 'weaver';

export const SCORE_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1];

export function createTelemetry(metrics: PluginMetrics) {
  return {
    decisions: metrics.counter({ name: 'decisions_total', help: 'Decisions by phase (hello, request) and action (primary, strict, reject)', labelNames: ['phase', 'action'] }),
    score: metrics.histogram({ name: 'score', help: 'Anomaly scores of handshakes', buckets: SCORE_BUCKETS }),
    signals: metrics.counter({ name: 'signals_total', help: 'Signals that contributed to a score', labelNames: ['signal'] }),
    requestRejects: metrics.counter({ name: 'request_rejects_total', help: 'Requests refused at request time (403) or sent back to reconnect (421)', labelNames: ['status'] }),
    profiles: metrics.gauge({ name: 'profiles', help: 'Client profiles held in memory', labelNames: ['table'] }),
    samples: metrics.gauge({ name: 'model_samples', help: 'Handshakes in the training window' }),
    trainedAt: metrics.gauge({ name: 'model_trained_timestamp_seconds', help: 'When the isolation forest was last trained' }),
    drift: metrics.gauge({ name: 'model_drift', help: 'Shift of the mean forest score since training, in training standard deviations' }),
    feedback: metrics.counter({ name: 'feedback_total', help: 'Labels received on the feedback API', labelNames: ['kind', 'label'] }),
    picks: metrics.counter({ name: 'upstream_picks_total', help: 'Data servers picked first, by profile class', labelNames: ['server', 'class'] }),
  };
}

export type Telemetry = ReturnType<typeof createTelemetry>;

const ACTIONS = ['primary', 'strict', 'reject'] as const;

type ScoreHistogram = Pick<ReturnType<PluginMetrics['histogram']>, 'observe'>;

/**
 * What every handshake counts, in one Float64Array (a few adjacent cache lines, where two Maps,
 * an object and two arrays were a cache line each): since the last flush to prom-client, the
 * hello decisions per action; since start, for GET /histogram, the scores in 20 buckets of 0.05
 * and the hello decisions per action. The scores since the last flush wait in a buffer of their
 * own, so the histogram gets each exact value without a prom-client call per handshake; a
 * handshake that finds the buffer full (a burst between two flushes) observes its own.
 */
export class Tallies {
  private static readonly DECISIONS = 0;
  private static readonly TOTAL = 3;
  private static readonly TOTAL_DECISIONS = 23;
  private static readonly PENDING_SCORES = 8192;
  readonly a = new Float64Array(26);
  private readonly scores = new Float64Array(Tallies.PENDING_SCORES);
  private pendingScores = 0;
  private readonly scoreHistogram: ScoreHistogram;

  constructor(scoreHistogram: ScoreHistogram) {
    this.scoreHistogram = scoreHistogram;
  }

  hello(score: number, action: 'primary' | 'strict' | 'reject'): void {
    const a = this.a;
    const k = action === 'primary' ? 0 : action === 'strict' ? 1 : 2;
    if (this.pendingScores < Tallies.PENDING_SCORES) this.scores[this.pendingScores++] = score;
    else this.scoreHistogram.observe(score);
    a[Tallies.DECISIONS + k]!++;
    a[Tallies.TOTAL + Math.min(19, Math.floor(score * 20))]!++;
    a[Tallies.TOTAL_DECISIONS + k]!++;
  }

  /** Observes the buffered scores and returns the hello decisions per action since the last call. */
  take(): Record<(typeof ACTIONS)[number], number> {
    const a = this.a;
    for (let i = 0; i < this.pendingScores; i++) this.scoreHistogram.observe(this.scores[i]!);
    this.pendingScores = 0;
    const decisions = { primary: a[Tallies.DECISIONS]!, strict: a[Tallies.DECISIONS + 1]!, reject: a[Tallies.DECISIONS + 2]! };
    a.fill(0, Tallies.DECISIONS, Tallies.TOTAL);
    return decisions;
  }

  /** The score histogram and hello decisions per routing since start (`routing`: action → `action:pool`). */
  describe(routing: Record<(typeof ACTIONS)[number], string>): { buckets: Array<{ le: number; count: number }>; routings: Record<string, number> } {
    const a = this.a;
    const routings: Record<string, number> = {};
    ACTIONS.forEach((action, k) => {
      if (a[Tallies.TOTAL_DECISIONS + k]! > 0) routings[routing[action]] = a[Tallies.TOTAL_DECISIONS + k]!;
    });
    return { buckets: Array.from({ length: 20 }, (_, i) => ({ le: Math.round((i + 1) * 5) / 100, count: a[Tallies.TOTAL + i]! })), routings };
  }
}

/** Adds what was counted since the last flush to prom-client (every few seconds, in one go, not per handshake). */
export function flushCounts(t: Telemetry, pending: { tallies: Tallies; decisions: Map<string, number>; signals: Map<string, number> }): void {
  const decisions = pending.tallies.take();
  for (const action of ACTIONS) if (decisions[action] > 0) t.decisions.inc({ phase: 'hello', action }, decisions[action]);
  for (const [k, n] of pending.decisions) {
    const [phase = '', action = ''] = k.split(':');
    t.decisions.inc({ phase, action }, n);
  }
  for (const [signal, n] of pending.signals) t.signals.inc({ signal }, n);
  pending.decisions.clear();
  pending.signals.clear();
}
