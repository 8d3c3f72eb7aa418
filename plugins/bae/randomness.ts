// Client-random quality. A TLS client random is 32 bytes from a CSPRNG (TLS ≤ 1.2 clients of
// old put gmt_unix_time in the first four). A random seen before on another connection means a
// replayed or hand-built hello; low byte entropy means a broken or fake generator.
import { CountTable } from './count-table.ts';
import { digestBytes } from './digest.ts';

// -p·log2(p) for a byte value seen c times in a 32-byte random, c = 0…32.
const TERM32 = Array.from({ length: 33 }, (_, c) => (c === 0 ? 0 : -(c / 32) * Math.log2(c / 32)));
const counts = new Uint8Array(256);

/** Shannon entropy of the bytes, in bits per byte (32 distinct bytes: 5). */
export function byteEntropy(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let i = 0; i < n; i++) counts[bytes[i]!]!++;
  let h = 0;
  for (let i = 0; i < n; i++) {
    const c = counts[bytes[i]!]!;
    if (c === 0) continue;
    h += n === 32 ? TERM32[c]! : -(c / n) * Math.log2(c / n);
    counts[bytes[i]!] = 0; // each value once, and the table is clean for the next call
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

export interface RandomSnapshot {
  at: number;
  /** Base64 of the keys (Float64Array) and of their counts (Uint8Array), current generation first. */
  keys: string;
  counts: string;
  current: number;
}

/**
 * Randoms seen recently, in two generations (count-table.ts): a random is remembered for at
 * least `ttlMs` unless max/2 others arrive first, memory is fixed by `max`, and a handshake
 * costs a digest and a probe or two, with nothing allocated.
 */
export class RandomTracker {
  private readonly seen: CountTable;
  private readonly ttlMs: number;
  private readonly max: number;

  constructor(max: number, ttlMs: number, now = Date.now()) {
    this.max = max;
    this.ttlMs = ttlMs;
    this.seen = new CountTable(max, ttlMs, now);
  }

  /**
   * Records one sighting; returns how many times it had been seen before. A random is keyed by
   * its 53-bit digest (digest.ts), no string made per connection: two different randoms among
   * the 200,000 kept collide with odds of about 1 in 500,000 an hour.
   */
  record(random: Uint8Array, now = Date.now()): number {
    return this.seen.bump(digestBytes(random), now);
  }

  get size(): number {
    return this.seen.size;
  }

  snapshot(): RandomSnapshot {
    const { keys, counts, current } = this.seen.columns();
    const b64 = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
    return { at: this.seen.startedAtMs, keys: b64(keys), counts: b64(counts), current };
  }

  /** Loads a snapshot; what is older than two generations is past remembering. */
  restore(s: RandomSnapshot | undefined, now = Date.now()): number {
    if (!s || typeof s.keys !== 'string' || typeof s.counts !== 'string' || now - s.at >= 2 * this.ttlMs) return 0;
    const kb = Buffer.from(s.keys, 'base64');
    const keys = new Float64Array(kb.buffer.slice(kb.byteOffset, kb.byteOffset + kb.byteLength - (kb.byteLength % 8)));
    const counts = Buffer.from(s.counts, 'base64');
    const n = Math.min(keys.length, counts.length, this.max);
    // A current generation past its TTL has aged into the previous one.
    const fresh = now - s.at < this.ttlMs;
    this.seen.load(keys.subarray(0, n), counts.subarray(0, n), fresh ? Math.min(s.current, n) : 0, fresh ? s.at : now);
    return n;
  }
}
