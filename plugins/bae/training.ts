// When the model trains: on the interval timer, at start, on POST /retrain (at once), and when
// the hook path, the drift check or the feedback API asks — then at most one attempt a second
// (an attempt that finds too little to learn still costs a pass over the window), from a
// timer, never in the hook itself. What it learns from: the window less rows that scored at or
// above the threshold and rows of sources or fingerprints labelled bad.
import type { Labels } from './labels.ts';
import type { AnomalyModel, TrainingReason } from './model.ts';

export class Training {
  private readonly model: AnomalyModel;
  private readonly labels: Labels;
  private readonly threshold: number;
  private due: TrainingReason | undefined;
  private lastAttempt = 0;

  constructor(model: AnomalyModel, labels: Labels, threshold: number) {
    this.model = model;
    this.labels = labels;
    this.threshold = threshold;
    model.onDrift = () => this.soon('drift');
  }

  /** Rows that must not be learnt as normal: flagged ones and those labelled bad. */
  private readonly excluded = (row: { source: string; print: string; score: number }): boolean =>
    row.score >= this.threshold || this.labels.get('addr', row.source) === 2 || this.labels.get('ja4', row.print) === 2;

  now(reason: TrainingReason): Promise<void> | undefined {
    this.due = undefined;
    return this.model.retrain(this.excluded, reason);
  }

  soon(reason: TrainingReason): void {
    if (this.due) return;
    this.due = reason;
    const wait = Math.max(0, 1_000 - (Date.now() - this.lastAttempt));
    setTimeout(() => {
      const due = this.due;
      // A training started meanwhile (the timer, POST /retrain) has answered the request, and a
      // warm-up that another training ended needs no second one.
      if (!due || (due === 'warm-up' && (this.model.ready || this.model.busy))) {
        this.due = undefined;
        return;
      }
      this.lastAttempt = Date.now();
      void this.now(due)?.catch(() => undefined);
    }, wait).unref();
  }
}
