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

/** Scores since the last flush, by twentieths (score ≤ (i+1)/20 and above i/20; 0 in the first). */
export class PendingScores {
  readonly counts = new Int32Array(20);
  sum = 0;

  add(score: number): void {
    this.counts[Math.max(0, Math.ceil(score * 20) - 1)]!++;
    this.sum += score;
  }
}

/** Adds counts and scores gathered in plain maps and arrays to prom-client (every few seconds, in one go, not per handshake). */
export function flushCounts(t: Telemetry, pending: { decisions: Map<string, number>; signals: Map<string, number>; scores: PendingScores }): void {
  const { counts } = pending.scores;
  let below = 0;
  let b = 0;
  for (const le of SCORE_BUCKETS) {
    for (; b < Math.round(le * 20); b++) below += counts[b]!;
    if (below > 0) t.scoreBucket.inc({ le: String(le) }, below);
  }
  if (below > 0) {
    t.scoreBucket.inc({ le: '+Inf' }, below);
    t.scoreCount.inc(below);
    t.scoreSum.inc(pending.scores.sum);
  }
  counts.fill(0);
  pending.scores.sum = 0;
  for (const [k, n] of pending.decisions) {
    const [phase = '', action = ''] = k.split(':');
    t.decisions.inc({ phase, action }, n);
  }
  for (const [signal, n] of pending.signals) t.signals.inc({ signal }, n);
  pending.decisions.clear();
  pending.signals.clear();
}

/** Score counts in 20 buckets of 0.05, and decisions per action and pool, since start. */
export class ScoreHistogram {
  readonly counts = new Array<number>(20).fill(0);
  readonly routings: Record<string, number> = {};

  add(score: number, routing: string): void {
    this.counts[Math.min(19, Math.floor(score * 20))]!++;
    this.routings[routing] = (this.routings[routing] ?? 0) + 1;
  }

  describe(): { buckets: Array<{ le: number; count: number }>; routings: Record<string, number> } {
    return { buckets: this.counts.map((count, i) => ({ le: Math.round((i + 1) * 5) / 100, count })), routings: { ...this.routings } };
  }
}
