// Offline evaluation of the detectors on labelled rows (what `weaver ata evaluate` prints).
// Honest by construction: the model never sees a test row, and the alert thresholds come from
// training data only — from a calibration slice of the training rows that the model was not fit
// on, so they are not flattered by scores of rows the model memorised. The false-positive rate
// those thresholds actually give on the test rows is reported next to the target.
import { seededRandom } from 'weaver';
import { IsolationForest } from './forest.ts';
import { auroc, quantile, rateAbove } from './metrics.ts';
import { shuffle } from './random.ts';
import { BoostedStumps } from './supervised.ts';

export interface Example {
  x: Float64Array;
  malicious: boolean;
  /** 'normal', or the attack's category (NSL-KDD: DoS, Probe, R2L, U2R). */
  category: string;
}

export interface EvaluateOptions {
  supervised: boolean;
  seed: number;
  /** Share of the training rows kept aside to set thresholds. */
  calibration: number;
  trees: number;
  sampleSize: number;
}

export interface AtFpr {
  threshold: number;
  detectionRate: number;
  falsePositiveRate: number;
}

export interface Evaluation {
  mode: 'unsupervised' | 'supervised';
  model: Record<string, number | string>;
  rows: { fit: number; fitNormal: number; calibrationNormal: number; test: number; testNormal: number; testAttacks: number };
  auroc: number;
  /** Thresholds for 1 % and 5 % false positives on the calibration rows, and what they give on test. */
  at1pctFpr: AtFpr;
  at5pctFpr: AtFpr;
  recallByCategory: Record<string, { rows: number; at1pctFpr: number; at5pctFpr: number }>;
}

/** A deterministic split of one file: `fraction` of the rows to test, by seed. */
export function splitHoldout<T>(rows: readonly T[], fraction: number, seed: number): { train: T[]; test: T[] } {
  const order = shuffle(rows.map((_, i) => i), seededRandom(seed));
  const cut = Math.round(rows.length * fraction);
  const inTest = new Uint8Array(rows.length);
  for (const i of order.slice(0, cut)) inTest[i] = 1;
  return { train: rows.filter((_, i) => !inTest[i]), test: rows.filter((_, i) => inTest[i]) };
}

export function evaluate(train: readonly Example[], test: readonly Example[], opts: EvaluateOptions): Evaluation {
  const { train: fit, test: calibration } = splitHoldout(train, opts.calibration, opts.seed + 1);
  const fitNormal = fit.filter((e) => !e.malicious);
  const calibrationNormal = calibration.filter((e) => !e.malicious);
  if (fitNormal.length < 2 || calibrationNormal.length === 0) throw new RangeError('too few normal training rows to fit and calibrate');
  let score: (x: Float64Array) => number;
  let model: Record<string, number | string>;
  if (opts.supervised) {
    if (!fit.some((e) => e.malicious)) throw new RangeError('--supervised needs attack rows in the training data');
    const m = BoostedStumps.train(fit.map((e) => e.x), fit.map((e) => e.malicious));
    score = (x) => m.margin(x);
    model = { kind: 'boosted-stumps', stumps: m.stumps.length };
  } else {
    const f = IsolationForest.train(fitNormal.map((e) => e.x), { trees: opts.trees, sampleSize: opts.sampleSize, seed: opts.seed });
    score = (x) => f.score(x);
    model = { kind: 'isolation-forest', trees: opts.trees, sampleSize: opts.sampleSize };
  }
  const calScores = calibrationNormal.map((e) => score(e.x));
  const testScores = test.map((e) => score(e.x));
  const attackScores = testScores.filter((_, i) => test[i]!.malicious);
  const normalScores = testScores.filter((_, i) => !test[i]!.malicious);
  const at = (fpr: number): AtFpr => {
    const threshold = quantile(calScores, 1 - fpr);
    return { threshold, detectionRate: rateAbove(attackScores, threshold), falsePositiveRate: rateAbove(normalScores, threshold) };
  };
  const at1pctFpr = at(0.01);
  const at5pctFpr = at(0.05);
  const recallByCategory: Evaluation['recallByCategory'] = {};
  for (const cat of [...new Set(test.filter((e) => e.malicious).map((e) => e.category))].sort()) {
    const s = testScores.filter((_, i) => test[i]!.malicious && test[i]!.category === cat);
    recallByCategory[cat] = { rows: s.length, at1pctFpr: rateAbove(s, at1pctFpr.threshold), at5pctFpr: rateAbove(s, at5pctFpr.threshold) };
  }
  return {
    mode: opts.supervised ? 'supervised' : 'unsupervised',
    model,
    rows: { fit: opts.supervised ? fit.length : fitNormal.length, fitNormal: fitNormal.length, calibrationNormal: calibrationNormal.length, test: test.length, testNormal: normalScores.length, testAttacks: attackScores.length },
    auroc: auroc(testScores, test.map((e) => e.malicious)),
    at1pctFpr,
    at5pctFpr,
    recallByCategory,
  };
}
