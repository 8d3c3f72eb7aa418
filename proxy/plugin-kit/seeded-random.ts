// Reproducible randomness for plugins that sample or train (a model, a data split, a tree):
// the same seed gives the same draws, where Math.random would make every run different.
export type Random = () => number;

/** xorshift32: small, fast and good enough for sampling. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4_294_967_296;
  };
}

/** `count` distinct indices below `n` (Floyd's algorithm: touches nothing but what it picks). */
export function sampleIndices(n: number, count: number, random: Random): number[] {
  const picked = new Set<number>();
  for (let j = n - count; j < n; j++) {
    const k = Math.floor(random() * (j + 1));
    picked.add(picked.has(k) ? j : k);
  }
  return [...picked];
}
