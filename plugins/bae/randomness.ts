// Client-random quality. A TLS client random is 32 bytes from a CSPRNG (TLS ≤ 1.2 clients of
// old put gmt_unix_time in the first four). A random seen before on another connection means a
// replayed or hand-built hello; low byte entropy means a broken or fake generator.
import { LRUCache } from 'lru-cache';

/** Shannon entropy of the bytes, in bits per byte (32 distinct bytes: 5). */
export function byteEntropy(bytes: Uint8Array): number {
  const counts = new Uint8Array(256);
  for (let i = 0; i < bytes.length; i++) counts[bytes[i]!]!++;
  let h = 0;
  const n = bytes.length;
  for (let i = 0; i < bytes.length; i++) {
    const c = counts[bytes[i]!]!;
    if (c === 0) continue;
    const p = c / n;
    h -= p * Math.log2(p);
    counts[bytes[i]!] = 0; // each value once
  }
  return h;
}

/** True when the first four bytes read as a Unix time within `windowS` of now. */
// Two days either way: a clock that far off is rare, and a wider window catches real random
// bytes by chance (±1 year would be 1.5% of them).
export function timeLikePrefix(random: Uint8Array, nowMs: number, windowS = 2 * 86_400): boolean {
  if (random.length < 4) return false;
  const t = ((random[0]! << 24) >>> 0) + (random[1]! << 16) + (random[2]! << 8) + random[3]!;
  return Math.abs(t - nowMs / 1000) <= windowS;
}

/**
 * Randoms seen recently, bounded in count and age. The key is the 32 bytes as a latin1 string
 * (32 one-byte characters), the value how many connections carried it.
 */
export class RandomTracker {
  private readonly seen: LRUCache<string, number>;

  constructor(max: number, ttlMs: number) {
    this.seen = new LRUCache<string, number>({ max, ttl: ttlMs, ttlAutopurge: false, updateAgeOnGet: false });
  }

  /** Records one sighting; returns how many times it had been seen before. */
  record(random: Uint8Array): number {
    const key = Buffer.from(random.buffer, random.byteOffset, random.byteLength).toString('latin1');
    const before = this.seen.get(key) ?? 0;
    this.seen.set(key, before + 1);
    return before;
  }

  get size(): number {
    return this.seen.size;
  }
}
