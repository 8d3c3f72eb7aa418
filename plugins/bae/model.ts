// The anomaly model: a rolling window of recent handshakes (feature vectors), an isolation
// forest retrained from it in the background, its calibration, warm-up and drift.
//   - Training rows: the window less rows that scored at or above the routing threshold, less
//     rows of sources or fingerprints labelled bad, at most `perSourceCap` per source (newest
//     first), so a flood from one address cannot teach the model that floods are normal.
//   - Calibration: the forest's scores of a sample of its own training rows give q50 and q99.5;
//     a score maps to max(0, (s − q50) / (q99.5 − q50)) / 2, capped at 1 — the 99.5th
//     percentile of recent traffic lands at 0.5, well beyond it at 1.
//   - Drift: how far the mean raw forest score of traffic since the last training has moved,
//     in standard deviations of the training scores. Looked at every 128 scored handshakes;
//     at `driftThreshold` the model calls onDrift, and the engine retrains (not only on its
//     timer): what was learnt no longer describes the traffic.
import { seededRandom } from 'weaver';
import { trainInBackground, type Forest } from './forest.ts';
import { ScoreMemo } from './score-memo.ts';

export interface WindowRow {
  v: ArrayLike<number>;
  source: string;
  print: string;
  score: number;
}

export interface ModelOptions {
  minSamples: number;
  window: number;
  perSourceCap: number;
  trees: number;
  sampleSize: number;
  seed: number;
  /** Drift (in training standard deviations) at which the model asks for a retraining. */
  driftThreshold?: number;
  /** Handshakes scored since the last training before drift counts. */
  driftMinScored?: number;
  /** Time since the last training before drift counts: a training costs 50–150 ms of CPU. */
  driftCooldownMs?: number;
}

export type TrainingReason = 'warm-up' | 'interval' | 'drift' | 'feedback' | 'admin' | 'restart';

export interface ModelStatus {
  state: 'warming-up' | 'training' | 'ready';
  trainedAt: string | null;
  trainings: number;
  /** Why the latest training ran. */
  reason: TrainingReason | null;
  samples: number;
  trainingRows: number;
  minSamples: number;
  q50: number;
  q995: number;
  drift: number;
  driftThreshold: number;
  /** What the latest training took: growing the trees, and calibrating (ms of synchronous work). */
  trainingMs: number;
  scoredSinceTraining: number;
}

/** How often (in scored handshakes) the drift is looked at. */
const DRIFT_EVERY = 128;

export class AnomalyModel {
  private readonly opts: ModelOptions;
  // The window, column-wise: vectors in one array, so recording a handshake allocates nothing
  // and the window is a handful of objects for the garbage collector, not one per row.
  private vectors: Float64Array | undefined;
  private dims = 0;
  private readonly sources: string[] = [];
  private readonly prints: string[] = [];
  private readonly scores: Float64Array;
  private count = 0;
  private next = 0;
  private forest: Forest | undefined;
  private training: Promise<void> | undefined;
  private trainedAt = 0;
  private trainings = 0;
  private reason: TrainingReason | null = null;
  private trainingRows = 0;
  private trainingMs = 0;
  private q50 = 0;
  private q995 = 1;
  private trainMean = 0;
  private trainStd = 0;
  private recentSum = 0;
  private recentCount = 0;
  private readonly memo = new ScoreMemo(16_384);
  /** Called (from the scoring path, so it must only schedule) when the drift reaches its threshold. */
  onDrift: (() => void) | undefined;

  constructor(opts: ModelOptions) {
    this.opts = opts;
    this.scores = new Float64Array(opts.window);
  }

  get samples(): number {
    return this.count;
  }

  get ready(): boolean {
    return this.forest !== undefined;
  }

  get busy(): boolean {
    return this.training !== undefined;
  }

  /** Adds a scored handshake to the window (the oldest goes when it is full); `v` is copied. */
  add(v: ArrayLike<number>, source: string, print: string, score: number): void {
    if (this.vectors === undefined) {
      this.dims = v.length;
      this.vectors = new Float64Array(this.opts.window * this.dims);
    }
    if (v.length !== this.dims) return;
    const i = this.next;
    // One copy (a memcpy from a Float64Array) where a loop over an array-like read each element generically.
    this.vectors.set(v, i * this.dims);
    this.sources[i] = source;
    this.prints[i] = print;
    this.scores[i] = score;
    this.next = (i + 1) % this.opts.window;
    if (this.count < this.opts.window) this.count++;
  }

  record(row: WindowRow): void {
    this.add(row.v, row.source, row.print, row.score);
  }

  /** Index of the k-th newest row. */
  private at(k: number): number {
    return (this.next - 1 - k + this.opts.window * 2) % this.opts.window;
  }

  private row(i: number): Float64Array {
    return this.vectors!.subarray(i * this.dims, (i + 1) * this.dims);
  }

  /**
   * Raw forest score in (0, 1), or undefined while warming up. With a `key` that stands for
   * exactly this vector (see writeVector), the score is memoised until the next training.
   */
  raw(v: ArrayLike<number>, key?: number): number | undefined {
    if (!this.forest) return undefined;
    let s = key === undefined ? undefined : this.memo.get(key);
    if (s === undefined) {
      s = this.forest.score(v);
      if (key !== undefined) this.memo.set(key, s);
    }
    this.recentSum += s;
    this.recentCount++;
    if (this.recentCount % DRIFT_EVERY === 0 && this.onDrift && !this.training) {
      const threshold = this.opts.driftThreshold ?? Infinity;
      const cooled = Date.now() - this.trainedAt >= (this.opts.driftCooldownMs ?? 0);
      if (cooled && this.recentCount >= (this.opts.driftMinScored ?? 0) && Math.abs(this.drift()) >= threshold) this.onDrift();
    }
    return s;
  }

  // The spread is floored at 0.01: on very uniform traffic the training scores hardly vary, and
  // a tiny standard deviation would read noise as drift.
  private drift(): number {
    return this.recentCount > 0 && this.trainings > 0 ? (this.recentSum / this.recentCount - this.trainMean) / Math.max(this.trainStd, 0.01) : 0;
  }

  /** The raw score mapped to [0, 1] against the training distribution. */
  calibrated(raw: number): number {
    const spread = Math.max(1e-6, this.q995 - this.q50);
    return Math.min(1, Math.max(0, (raw - this.q50) / spread) / 2);
  }

  /**
   * Retrains from the window in the background unless a training is running or there is too
   * little data. `exclude` says which rows must not be learnt as normal.
   */
  retrain(exclude: (row: { source: string; print: string; score: number }) => boolean, reason: TrainingReason = 'admin'): Promise<void> | undefined {
    if (this.training || this.count < this.opts.minSamples) return this.training;
    const perSource = new Map<string, number>();
    const set: Float64Array[] = [];
    // Newest first, so the cap keeps a source's recent behaviour.
    for (let k = 0; k < this.count; k++) {
      const i = this.at(k);
      const row = { source: this.sources[i]!, print: this.prints[i]!, score: this.scores[i]! };
      if (exclude(row)) continue;
      const n = perSource.get(row.source) ?? 0;
      if (n >= this.opts.perSourceCap) continue;
      perSource.set(row.source, n + 1);
      set.push(this.row(i).slice());
    }
    if (set.length < Math.min(this.opts.minSamples, 32)) return undefined;
    const seed = this.opts.seed + this.trainings;
    this.training = trainInBackground(set, { trees: this.opts.trees, sampleSize: this.opts.sampleSize, seed })
      .then((forest) => this.calibrate(forest, set, seed, reason))
      .finally(() => (this.training = undefined));
    return this.training;
  }

  /** Scores a sample of the training rows in chunks, then swaps the new forest in. */
  private async calibrate(forest: Forest, set: Float64Array[], seed: number, reason: TrainingReason): Promise<void> {
    const random = seededRandom(seed ^ 0x5bd1e995);
    const n = Math.min(1_000, set.length);
    const scores: number[] = [];
    let took = forest.trainingMs;
    let started = performance.now();
    for (let i = 0; i < n; i++) {
      if (i % 100 === 99) {
        took += performance.now() - started;
        await new Promise<void>((r) => setImmediate(r));
        started = performance.now();
      }
      scores.push(forest.score(set[Math.floor(random() * set.length)]!));
    }
    this.trainingMs = took + performance.now() - started;
    scores.sort((a, b) => a - b);
    const at = (q: number): number => scores[Math.min(scores.length - 1, Math.floor(q * scores.length))]!;
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    this.q50 = at(0.5);
    this.q995 = Math.max(at(0.995), this.q50 + 0.01);
    this.trainMean = mean;
    this.trainStd = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
    this.forest = forest;
    this.memo.clear();
    this.trainedAt = Date.now();
    this.trainings++;
    this.reason = reason;
    this.trainingRows = set.length;
    this.recentSum = 0;
    this.recentCount = 0;
  }

  status(): ModelStatus {
    return {
      state: this.training ? 'training' : this.forest ? 'ready' : 'warming-up',
      trainedAt: this.trainedAt ? new Date(this.trainedAt).toISOString() : null,
      trainings: this.trainings,
      reason: this.reason,
      samples: this.count,
      trainingRows: this.trainingRows,
      minSamples: this.opts.minSamples,
      q50: round(this.q50),
      q995: round(this.q995),
      drift: round(this.drift()),
      driftThreshold: this.opts.driftThreshold ?? 0,
      trainingMs: Math.round(this.trainingMs),
      scoredSinceTraining: this.recentCount,
    };
  }

  /** The newest `limit` rows, oldest first, for saving across a restart. */
  snapshot(limit: number): WindowRow[] {
    const out: WindowRow[] = [];
    for (let k = Math.min(limit, this.count) - 1; k >= 0; k--) {
      const i = this.at(k);
      out.push({ v: Array.from(this.row(i), round), source: this.sources[i]!, print: this.prints[i]!, score: this.scores[i]! });
    }
    return out;
  }
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
