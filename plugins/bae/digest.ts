// A 53-bit digest: two 32-bit multiply-xor lanes over a sequence of values, finished into one
// exact double, so it keys a typed table (or a Map) without a string made for the purpose.
// Never 0, which the tables use to mark an empty slot. A digest that is never stored starts
// from a per-process secret (`SECRET`): then a client cannot work out which keys of its own
// choosing (addresses in its IPv6 /64) would collide or cluster in a table.
import { randomBytes } from 'node:crypto';

/** Two random 32-bit words, drawn once per process. */
const SECRET: readonly [number, number] = ((b) => [b.readInt32LE(0), b.readInt32LE(4)] as const)(randomBytes(8));

const finish = (h1: number, h2: number): number => {
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  return (h1 >>> 0) * 2_097_152 + ((h2 >>> 0) >>> 11) || 1;
};

/** The digest of a byte string (a client random: stored, so unseeded). */
export function digestBytes(bytes: Uint8Array): number {
  let h1 = 0x9e3779b9;
  let h2 = 0x85ebca6b;
  for (let i = 0; i < bytes.length; i++) {
    h1 = Math.imul(h1 ^ bytes[i]!, 0x01000193);
    h2 = Math.imul(h2 + bytes[i]!, 0x5bd1e995) ^ (h2 >>> 15);
  }
  return finish(h1, h2);
}

/** The digest of a string, from SECRET: for keys that are never stored. */
export function digestSecret(a: string): number {
  let h1 = 0x9e3779b9 ^ SECRET[0];
  let h2 = 0x85ebca6b ^ SECRET[1];
  for (let i = 0; i < a.length; i++) {
    const x = a.charCodeAt(i);
    h1 = Math.imul(h1 ^ x, 0x01000193);
    h2 = Math.imul(h2 + x, 0x5bd1e995) ^ (h2 >>> 15);
  }
  return finish(h1, h2);
}

/**
 * The digest of a pair of digests (an address's and a JA4's, each worked out once), from
 * SECRET: the 32-bit halves of each in turn through the same two lanes.
 */
export function digestPair(x: number, y: number): number {
  let h1 = 0x9e3779b9 ^ SECRET[0];
  let h2 = 0x85ebca6b ^ SECRET[1];
  for (let i = 0; i < 4; i++) {
    const z = i < 2 ? x : y;
    const w = (i & 1) === 0 ? z >>> 0 : (z / 4_294_967_296) >>> 0;
    h1 = Math.imul(h1 ^ w, 0x01000193);
    h2 = Math.imul(h2 + w, 0x5bd1e995) ^ (h2 >>> 15);
  }
  return finish(h1, h2);
}

/**
 * A table slot for a stored digest (one that must not depend on the process, such as a client
 * random's, which is saved across restarts): the digest mixed with SECRET, so where keys land
 * is as unknown to a client as a seeded digest would be.
 */
export function slotOf(key: number, mask: number): number {
  let x = Math.imul((key >>> 0) ^ SECRET[0], 0x9e3779b1) ^ Math.imul((key / 4_294_967_296) ^ SECRET[1], 0x85ebca77);
  x ^= x >>> 15;
  x = Math.imul(x, 0x2c1b3c6d);
  x ^= x >>> 12;
  return x & mask;
}

/** Longest probe a table walks before it treats a key as absent and starts a new generation: a safety net, never reached by chance at half load. */
export const MAX_PROBE = 64;
