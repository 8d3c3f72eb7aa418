// A 53-bit digest: two 32-bit multiply-xor lanes over a sequence of values, finished into one
// exact double, so it keys a typed table (or a Map) without a string made for the purpose.
// Never 0, which the tables use to mark an empty slot. Synchronous use only: the lanes are
// module state, so nothing is allocated per digest.
let h1 = 0;
let h2 = 0;

export function begin(): void {
  h1 = 0x9e3779b9;
  h2 = 0x85ebca6b;
}

export function add(x: number): void {
  h1 = Math.imul(h1 ^ x, 0x01000193);
  h2 = Math.imul(h2 + x, 0x5bd1e995) ^ (h2 >>> 15);
}

export function end(): number {
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  return (h1 >>> 0) * 2_097_152 + ((h2 >>> 0) >>> 11) || 1;
}
