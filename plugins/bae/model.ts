// The anomaly model: a rolling window of recent handshakes (feature vectors), an isolation
// forest retrained from it in the background, its calibration, warm-up and drift.
//   - Training rows: the window less rows that scored at or above the routing threshold, less
//     rows of sources or fingerprints labelled bad, at most `perSourceCap` per source (newest
//     first), so a flood from one address cannot teach the model that floods are normal.
//   - Calibration: the forest's scores of a sample of its own training rows give q50 and q99.5;
//     a score maps to max(0, (s − q50) / (q99.5 − q50)) / 2, capped at 1 — the 99.5th
//     percentile of recent traffic lands at 0.5, well beyond it at 1.
//   - Drift: how far the mean raw forest score of traffic since the last training has moved,
//     in standard deviations of the training scores.
import { seededRandom, trainInBackground, type Forest } from './forest.ts';

export interface WindowRow {
  v: number[];
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
}

export interface ModelStatus {
  state: 'warming-up' | 'training' | 'ready';
  trainedAt: string | null;
  trainings: number;
  samples: number;
  trainingRows: number;
  minSamples: number;
  q50: number;
  q995: number;
  drift: number;
  scoredSinceTraining: number;
}

export class AnomalyModel {
  private readonly opts: ModelOptions;
  private readonly rows: WindowRow[] = [];
  private next = 0;
  private forest: Forest | undefined;
  private training: Promise<void> | undefined;
  private trainedAt = 0;
  private trainings = 0;
  private trainingRows = 0;
  private q50 = 0;
  private q995 = 1;
  private trainMean = 0;
  private trainStd = 0;
  private recentSum = 0;
  private recentCount = 0;

  constructor(opts: ModelOptions) {
    this.opts = opts;
  }

  get samples(): number {
    return this.rows.length;
  }

  get ready(): boolean {
    return this.forest !== undefined;
  }

  /** Adds a scored handshake to the window (the oldest goes when it is full). */
  record(row: WindowRow): void {
    if (this.rows.length < this.opts.window) this.rows.push(row);
    else {
      this.rows[this.next] = row;
      this.next = (this.next + 1) % this.opts.window;
    }
  }

  /** Raw forest score in (0, 1), or undefined while warming up. */
  raw(v: number[]): number | undefined {
    if (!this.forest) return undefined;
    const s = this.forest.score(v);
    this.recentSum += s;
    this.recentCount++;
    return s;
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
  retrain(exclude: (row: WindowRow) => boolean): Promise<void> | undefined {
    if (this.training || this.rows.length < this.opts.minSamples) return this.training;
    const perSource = new Map<string, number>();
    const set: number[][] = [];
    // Newest first, so the cap keeps a source's recent behaviour.
    for (let k = 0; k < this.rows.length; k++) {
      const row = this.rows[(this.next - 1 - k + this.rows.length * 2) % this.rows.length]!;
      if (exclude(row)) continue;
      const n = perSource.get(row.source) ?? 0;
      if (n >= this.opts.perSourceCap) continue;
      perSource.set(row.source, n + 1);
      set.push(row.v);
    }
    if (set.length < Math.min(this.opts.minSamples, 32)) return undefined;
    const seed = this.opts.seed + this.trainings;
    this.training = trainInBackground(set, { trees: this.opts.trees, sampleSize: this.opts.sampleSize, seed })
      .then((forest) => this.calibrate(forest, set, seed))
      .finally(() => (this.training = undefined));
    return this.training;
  }

  /** Scores a sample of the training rows in chunks, then swaps the new forest in. */
  private async calibrate(forest: Forest, set: number[][], seed: number): Promise<void> {
    const random = seededRandom(seed ^ 0x5bd1e995);
    const n = Math.min(1_000, set.length);
    const scores: number[] = [];
    for (let i = 0; i < n; i++) {
      if (i % 100 === 99) await new Promise<void>((r) => setImmediate(r));
      scores.push(forest.score(set[Math.floor(random() * set.length)]!));
    }
    scores.sort((a, b) => a - b);
    const at = (q: number): number => scores[Math.min(scores.length - 1, Math.floor(q * scores.length))]!;
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    this.q50 = at(0.5);
    this.q995 = Math.max(at(0.995), this.q50 + 0.01);
    this.trainMean = mean;
    this.trainStd = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
    this.forest = forest;
    this.trainedAt = Date.now();
    this.trainings++;
    this.trainingRows = set.length;
    this.recentSum = 0;
    this.recentCount = 0;
  }

  status(): ModelStatus {
    const drift = this.recentCount > 0 && this.trainStd > 0 ? (this.recentSum / this.recentCount - this.trainMean) / this.trainStd : 0;
    return {
      state: this.training ? 'training' : this.forest ? 'ready' : 'warming-up',
      trainedAt: this.trainedAt ? new Date(this.trainedAt).toISOString() : null,
      trainings: this.trainings,
      samples: this.rows.length,
      trainingRows: this.trainingRows,
      minSamples: this.opts.minSamples,
      q50: round(this.q50),
      q995: round(this.q995),
      drift: round(drift),
      scoredSinceTraining: this.recentCount,
    };
  }

  /** The newest `limit` rows, for saving across a restart. */
  snapshot(limit: number): WindowRow[] {
    const out: WindowRow[] = [];
    for (let k = 0; k < Math.min(limit, this.rows.length); k++) {
      const row = this.rows[(this.next - 1 - k + this.rows.length * 2) % this.rows.length]!;
      out.push({ ...row, v: row.v.map(round) });
    }
    return out.reverse();
  }
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
