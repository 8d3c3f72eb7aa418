// What ordinary traffic of one segment looks like: an isolation forest over the segment's recent
// flows, retrained on a rolling window, and a threshold at a high quantile of its own training
// scores. One chatty source cannot make itself "normal" (it may fill at most perSourceCap rows
// of the window), and flows the analyzer reported are never added.
// An isolation forest only splits within the range it was trained on, so a flow far beyond it
// (a 4 GB upload where the largest was 3 MB) scores no higher than the most extreme training
// flow. So the baseline also keeps each continuous feature's range (0.1 %–99.9 % quantiles) and
// measures how far beyond it a flow lies, in widths of that range.
import { trainInBackground, type IsolationForest } from './forest.ts';
import { quantile } from './metrics.ts';

export interface Assessment {
  /** Isolation score in (0, 1) and the segment's threshold for it. */
  score: number;
  threshold: number;
  /** How far the flow lies outside the training range, in range widths (0 inside), and on which feature. */
  excess: number;
  feature: number;
}

export interface BaselineOptions {
  minSamples: number;
  window: number;
  perSourceCap: number;
  trees: number;
  sampleSize: number;
  quantile: number;
  seed: number;
}

export class SegmentBaseline {
  private readonly opts: BaselineOptions;
  private readonly rows: Float64Array[] = [];
  private readonly owners: string[] = [];
  private next = 0;
  private readonly perSource = new Map<string, number>();
  private forest: IsolationForest | undefined;
  private training: Promise<void> | undefined;
  /** Score at or above which a flow is unusual for this segment (NaN until trained). */
  threshold = NaN;
  trainedOn = 0;

  /** Per feature: whether it is continuous (range-checked), and its training range. */
  private readonly continuous: readonly boolean[];
  private ranges: Array<{ lo: number; hi: number }> = [];

  constructor(opts: BaselineOptions, continuous: readonly boolean[] = []) {
    this.opts = opts;
    this.continuous = continuous;
  }

  get samples(): number {
    return this.rows.length;
  }

  get ready(): boolean {
    return this.forest !== undefined;
  }

  add(source: string, row: Float64Array): void {
    const mine = this.perSource.get(source) ?? 0;
    if (mine >= this.opts.perSourceCap) return;
    if (this.rows.length < this.opts.window) {
      this.rows.push(row);
      this.owners.push(source);
    } else {
      // Rolling window: the oldest row gives way.
      const old = this.owners[this.next]!;
      const left = this.perSource.get(old)! - 1;
      if (left === 0) this.perSource.delete(old);
      else this.perSource.set(old, left);
      this.rows[this.next] = row;
      this.owners[this.next] = source;
      this.next = (this.next + 1) % this.opts.window;
    }
    this.perSource.set(source, mine + 1);
  }

  /** Undefined before the first training. */
  assess(row: Float64Array): Assessment | undefined {
    if (!this.forest) return undefined;
    let excess = 0;
    let feature = -1;
    this.ranges.forEach(({ lo, hi }, f) => {
      if (!this.continuous[f]) return;
      const width = Math.max(hi - lo, 1);
      const out = Math.max(row[f]! - hi, lo - row[f]!, 0) / width;
      if (out > excess) [excess, feature] = [out, f];
    });
    return { score: this.forest.score(row), threshold: this.threshold, excess, feature };
  }

  /** Regrows the forest on the current window in the background (one tree per turn). */
  retrain(): Promise<void> {
    if (this.rows.length < this.opts.minSamples) return Promise.resolve();
    this.training ??= (async () => {
      const rows = this.rows.slice();
      const forest = await trainInBackground(rows, this.opts);
      // Scoring the window and sorting its columns is work too: a slice per event-loop turn.
      const scores: number[] = [];
      for (let i = 0; i < rows.length; i += 1_000) {
        for (const r of rows.slice(i, i + 1_000)) scores.push(forest.score(r));
        await new Promise(setImmediate);
      }
      const ranges: Array<{ lo: number; hi: number }> = [];
      for (let f = 0; f < rows[0]!.length; f++) {
        const column = rows.map((r) => r[f]!);
        ranges.push({ lo: quantile(column, 0.001), hi: quantile(column, 0.999) });
        await new Promise(setImmediate);
      }
      this.threshold = quantile(scores, this.opts.quantile);
      this.ranges = ranges;
      this.forest = forest;
      this.trainedOn = rows.length;
    })().finally(() => (this.training = undefined));
    return this.training;
  }
}
