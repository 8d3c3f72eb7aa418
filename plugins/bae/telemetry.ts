// The plugin's Prometheus metrics (weaver_bae_…) and its own score histogram and routing
// counts for the admin API. Per handshake, only plain counts change; they reach prom-client on
// a timer. The score distribution is exposed as the series of a Prometheus histogram
// (weaver_bae_score_bucket{le}, _sum, _count, cumulative), made of counters so that a flush
// adds each bucket's count at once instead of one observe() per handshake.
import type { PluginMetrics } from 'weaver';

export const SCORE_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1];

export function createTelemetry(metrics: PluginMetrics) {
  return {
    decisions: metrics.counter({ name: 'decisions_total', help: 'Decisions by phase (hello, request) and action (primary, strict, reject)', labelNames: ['phase', 'action'] }),
    scoreBucket: metrics.counter({ name: 'score_bucket', help: 'Handshakes by anomaly score: at most le (cumulative, as a histogram)', labelNames: ['le'] }),
    scoreSum: metrics.counter({ name: 'score_sum', help: 'Sum of the anomaly scores of handshakes' }),
    scoreCount: metrics.counter({ name: 'score_count', help: 'Handshakes scored' }),
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

/**
 * What every handshake counts, in one Float64Array (a few adjacent cache lines, where two Maps,
 * an object and two arrays were a cache line each): since the last flush to prom-client, the
 * scores by twentieths (score ≤ (i+1)/20 and above i/20; 0 in the first), their sum and the hello
 * decisions per action; since start, for GET /histogram, the scores in 20 buckets of 0.05 and the
 * hello decisions per action.
 */
export class Tallies {
  private static readonly SUM = 20;
  private static readonly DECISIONS = 21;
  private static readonly TOTAL = 24;
  private static readonly TOTAL_DECISIONS = 44;
  readonly a = new Float64Array(47);

  hello(score: number, action: 'primary' | 'strict' | 'reject'): void {
    const a = this.a;
    const k = action === 'primary' ? 0 : action === 'strict' ? 1 : 2;
    a[Math.max(0, Math.ceil(score * 20) - 1)]!++;
    a[Tallies.SUM] += score;
    a[Tallies.DECISIONS + k]!++;
    a[Tallies.TOTAL + Math.min(19, Math.floor(score * 20))]!++;
    a[Tallies.TOTAL_DECISIONS + k]!++;
  }

  /** Scores by twentieths, their sum and hello decisions per action since the last call. */
  take(): { counts: Float64Array; sum: number; decisions: Record<(typeof ACTIONS)[number], number> } {
    const a = this.a;
    const out = {
      counts: a.slice(0, 20),
      sum: a[Tallies.SUM]!,
      decisions: { primary: a[Tallies.DECISIONS]!, strict: a[Tallies.DECISIONS + 1]!, reject: a[Tallies.DECISIONS + 2]! },
    };
    a.fill(0, 0, Tallies.TOTAL);
    return out;
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
  const { counts, sum, decisions } = pending.tallies.take();
  let below = 0;
  let b = 0;
  for (const le of SCORE_BUCKETS) {
    for (; b < Math.round(le * 20); b++) below += counts[b]!;
    if (below > 0) t.scoreBucket.inc({ le: String(le) }, below);
  }
  if (below > 0) {
    t.scoreBucket.inc({ le: '+Inf' }, below);
    t.scoreCount.inc(below);
    t.scoreSum.inc(sum);
  }
  for (const action of ACTIONS) if (decisions[action] > 0) t.decisions.inc({ phase: 'hello', action }, decisions[action]);
  for (const [k, n] of pending.decisions) {
    const [phase = '', action = ''] = k.split(':');
    t.decisions.inc({ phase, action }, n);
  }
  for (const [signal, n] of pending.signals) t.signals.inc({ signal }, n);
  pending.decisions.clear();
  pending.signals.clear();
}
