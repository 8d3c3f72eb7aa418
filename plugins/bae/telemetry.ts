// The plugin's Prometheus metrics (weaver_bae_…) and its own score histogram and routing
// counts for the admin API.
import type { PluginMetrics } from 'weaver';

export const SCORE_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1];

export function createTelemetry(metrics: PluginMetrics) {
  return {
    decisions: metrics.counter({ name: 'decisions_total', help: 'Decisions by phase (hello, request) and action (primary, strict, reject)', labelNames: ['phase', 'action'] }),
    score: metrics.histogram({ name: 'score', help: 'Anomaly score per handshake', buckets: SCORE_BUCKETS }),
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

/** Adds counts gathered in plain maps to the prom-client counters (every few seconds, not per handshake). */
export function flushCounts(t: Telemetry, pending: { decisions: Map<string, number>; signals: Map<string, number> }): void {
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

  add(score: number, action: string, pool: string): void {
    this.counts[Math.min(19, Math.floor(score * 20))]!++;
    const k = `${action}:${pool}`;
    this.routings[k] = (this.routings[k] ?? 0) + 1;
  }

  describe(): { buckets: Array<{ le: number; count: number }>; routings: Record<string, number> } {
    return { buckets: this.counts.map((count, i) => ({ le: Math.round((i + 1) * 5) / 100, count })), routings: { ...this.routings } };
  }
}
