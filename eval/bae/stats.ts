// Detection statistics from labelled scores: AUROC (Mann–Whitney, ties counted half), the
// detection rate at a false-positive budget, and rates at a fixed threshold.

export interface Scored {
  attack: boolean;
  score: number;
}

export function auroc(rows: readonly Scored[]): number {
  const sorted = [...rows].sort((a, b) => a.score - b.score);
  // Average ranks over ties.
  const ranks = new Array<number>(sorted.length);
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1]!.score === sorted[i]!.score) j++;
    for (let k = i; k <= j; k++) ranks[k] = (i + j) / 2 + 1;
    i = j + 1;
  }
  let rankSum = 0;
  let pos = 0;
  sorted.forEach((r, i) => {
    if (r.attack) {
      rankSum += ranks[i]!;
      pos++;
    }
  });
  const neg = sorted.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** The highest detection rate whose false-positive rate stays within `fpBudget`, and its threshold. */
export function detectionAtFp(rows: readonly Scored[], fpBudget: number): { tpr: number; fpr: number; threshold: number } {
  const neg = rows.filter((r) => !r.attack).map((r) => r.score).sort((a, b) => b - a);
  const pos = rows.filter((r) => r.attack).map((r) => r.score);
  const allowed = Math.floor(neg.length * fpBudget);
  // Flag scores strictly above the (allowed+1)-th highest benign score.
  const threshold = neg[allowed] ?? -Infinity;
  const tp = pos.filter((s) => s > threshold).length;
  const fp = neg.filter((s) => s > threshold).length;
  return { tpr: pos.length ? tp / pos.length : NaN, fpr: neg.length ? fp / neg.length : NaN, threshold };
}

export function atThreshold(rows: readonly Scored[], threshold: number): { tpr: number; fpr: number } {
  const pos = rows.filter((r) => r.attack);
  const neg = rows.filter((r) => !r.attack);
  return {
    tpr: pos.filter((r) => r.score >= threshold).length / Math.max(1, pos.length),
    fpr: neg.filter((r) => r.score >= threshold).length / Math.max(1, neg.length),
  };
}
