// The forest's scores by vector key (features.ts's writeVector), as a direct-mapped cache in one
// Float64Array: key and score side by side, so a lookup is one cache line, allocates nothing
// (a Map keyed by 53-bit numbers would box each key as a heap number and chase it on every
// compare), and a key that lands on a taken slot replaces what was there. The handshakes of
// ordinary clients come down to a few hundred vectors, so misses are rare; a spray of odd
// vectors costs misses, never memory.
export class ScoreMemo {
  private readonly slots: Float64Array;
  private readonly mask: number;

  constructor(capacity: number) {
    const n = 2 ** Math.ceil(Math.log2(capacity));
    this.slots = new Float64Array(n * 2);
    this.mask = n - 1;
  }

  /** The score kept for `key` (≠ 0), or undefined. */
  get(key: number): number | undefined {
    const i = ((key >>> 0) & this.mask) * 2;
    return this.slots[i] === key ? this.slots[i + 1] : undefined;
  }

  set(key: number, score: number): void {
    const i = ((key >>> 0) & this.mask) * 2;
    this.slots[i] = key;
    this.slots[i + 1] = score;
  }

  clear(): void {
    this.slots.fill(0);
  }
}
