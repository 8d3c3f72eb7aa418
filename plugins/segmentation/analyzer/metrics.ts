// Detector quality: AUROC and detection rates at thresholds chosen from training scores only.

/** Area under the ROC curve (Mann–Whitney U, ties counted half). `positive[i]`: row i is an attack. */
export function auroc(scores: readonly number[], positive: readonly boolean[]): number {
  const order = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && scores[order[j]!] === scores[order[i]!]) j++;
    const rank = (i + 1 + j) / 2; // mean of ranks i+1 … j
    for (let k = i; k < j; k++) {
      if (!positive[order[k]!]) continue;
      pos++;
      rankSum += rank;
    }
    i = j;
  }
  const neg = order.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** The q-quantile (0..1) of `values`, by the nearest rank at or above. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Share of `scores` strictly above `threshold`. */
export function rateAbove(scores: readonly number[], threshold: number): number {
  if (scores.length === 0) return NaN;
  let n = 0;
  for (const s of scores) if (s > threshold) n++;
  return n / scores.length;
}
