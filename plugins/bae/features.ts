// Features of one handshake. What follows from the hello's shape (versions, list sizes, GREASE,
// ALPN/SNI, weak suites, stack class) is worked out once per shape (shape.ts); what changes per
// connection is here: how the hello arrived (reads, gaps, time from accept), its client random
// (entropy, a time-like prefix, seen before), resumption, and the behaviour around it (rates of
// its source and its fingerprint). `writeVector` fills the numbers the isolation forest sees
// (heavy-tailed counts through log1p, flags as 0/1) into a reused array: no allocation per
// handshake.
import type { Shape } from './shape.ts';

/** What changes from one connection to the next. */
export interface Dynamic {
  reads: number;
  maxGapMs: number;
  acceptToHelloMs: number;
  randomEntropy: number;
  randomTimePrefix: boolean;
  /** Earlier connections that carried the same client random. */
  randomSeen: number;
  sessionIdLength: number;
  /** 0 none, 1 a TLS ≤ 1.2 session id, 2 a session ticket, 3 a TLS 1.3 PSK. */
  resumption: number;
  /** This client's earlier resumption attempts the server turned down, and those it accepted. */
  resumeFails: number;
  resumed: number;
  /** 0 when the cipher order matches the order first seen for this cipher set, up to 1. */
  cipherOrderDrift: number;
  /** Handshakes from this source in about the last 10 s and the last second (decayed counts). */
  sourceRate: number;
  sourceBurst: number;
  /** Handshakes with this fingerprint per 10 s, averaged over the hour, and in about the last 10 s. */
  printRate: number;
  printBurst: number;
  /** Distinct sources of this fingerprint in the last hour. */
  printSources: number;
  /** Distinct fingerprints of this source. */
  sourcePrints: number;
  knownGood: boolean;
}

export function newDynamic(): Dynamic {
  return {
    reads: 0, maxGapMs: 0, acceptToHelloMs: 0, randomEntropy: 0, randomTimePrefix: false, randomSeen: 0, sessionIdLength: 0, resumption: 0, resumeFails: 0,
    resumed: 0, cipherOrderDrift: 0, sourceRate: 0, sourceBurst: 0, printRate: 0, printBurst: 0, printSources: 0, sourcePrints: 0, knownGood: false,
  };
}

/** Numbers per Dynamic in writeDynamic's rows. */
export const DYNAMIC_SIZE = 18;

/** Copies `d` into `out` at `o` (explain keeps an address's last one so, not as an object). */
export function writeDynamic(d: Dynamic, out: Float64Array, o: number): void {
  out[o] = d.reads;
  out[o + 1] = d.maxGapMs;
  out[o + 2] = d.acceptToHelloMs;
  out[o + 3] = d.randomEntropy;
  out[o + 4] = d.randomTimePrefix ? 1 : 0;
  out[o + 5] = d.randomSeen;
  out[o + 6] = d.sessionIdLength;
  out[o + 7] = d.resumption;
  out[o + 8] = d.resumeFails;
  out[o + 9] = d.resumed;
  out[o + 10] = d.cipherOrderDrift;
  out[o + 11] = d.sourceRate;
  out[o + 12] = d.sourceBurst;
  out[o + 13] = d.printRate;
  out[o + 14] = d.printBurst;
  out[o + 15] = d.printSources;
  out[o + 16] = d.sourcePrints;
  out[o + 17] = d.knownGood ? 1 : 0;
}

export function readDynamic(src: Float64Array, o: number): Dynamic {
  return {
    reads: src[o]!,
    maxGapMs: src[o + 1]!,
    acceptToHelloMs: src[o + 2]!,
    randomEntropy: src[o + 3]!,
    randomTimePrefix: src[o + 4] === 1,
    randomSeen: src[o + 5]!,
    sessionIdLength: src[o + 6]!,
    resumption: src[o + 7]!,
    resumeFails: src[o + 8]!,
    resumed: src[o + 9]!,
    cipherOrderDrift: src[o + 10]!,
    sourceRate: src[o + 11]!,
    sourceBurst: src[o + 12]!,
    printRate: src[o + 13]!,
    printBurst: src[o + 14]!,
    printSources: src[o + 15]!,
    sourcePrints: src[o + 16]!,
    knownGood: src[o + 17] === 1,
  };
}

/** Names of the vector's columns, in order (explain shows them). */
export const VECTOR_NAMES = [
  'maxVersion',
  'log1p(versions)',
  'log1p(ciphers)',
  'log1p(extensions)',
  'log1p(groups)',
  'log1p(sigalgs)',
  'grease',
  'log1p(weakCiphers)',
  'alpn',
  'h2',
  'sni',
  'log1p(helloBytes)',
  'log1p(reads-1)',
  'log1p(maxGapMs)',
  'log1p(acceptToHelloMs)',
  'randomEntropyDeficit',
  'randomTimePrefix',
  'log1p(randomSeen)',
  'sessionId',
  'sessionTicket',
  'pskResume',
  'log1p(keyShares)',
  'browserStack',
  'cipherOrderDrift',
  'log1p(sourceRate)',
  'log1p(sourceBurst)',
  'log1p(sourcePrints)',
  'knownGood',
] as const;

export const VECTOR_SIZE = VECTOR_NAMES.length;

export const COLUMNS = {
  maxVersion: 0,
  versions: 1,
  ciphers: 2,
  extensions: 3,
  groups: 4,
  sigalgs: 5,
  grease: 6,
  weakCiphers: 7,
  alpn: 8,
  h2: 9,
  sni: 10,
  helloBytes: 11,
  reads: 12,
  maxGapMs: 13,
  acceptToHelloMs: 14,
  randomEntropy: 15,
  randomTimePrefix: 16,
  randomSeen: 17,
  sessionId: 18,
  sessionTicket: 19,
  pskResume: 20,
  keyShares: 21,
  browserStack: 22,
  cipherOrderDrift: 23,
  sourceRate: 24,
  sourceBurst: 25,
  sourcePrints: 26,
  knownGood: 27,
} as const;

// Per-connection columns are rounded (in log space for counts and times) to 1/32, times and
// the random's entropy to 1/8 (13% apart), which an isolation forest does not feel, so that
// the handshakes of one stack from ordinary clients come down to a few hundred distinct vectors
// and the forest's score can be memoised on them (AnomalyModel.raw): writeVector returns a
// 53-bit key of the vector (never 0), from the shape's id and the rounded columns as integers (two lanes
// of multiply-xor; two different vectors share a key with odds of about 2⁻⁵³).
// The per-connection columns, how finely each is rounded, and a scratch for their values: one
// loop rounds and hashes them all, where a call per column inlined thirteen times made this
// one of the larger pieces of machine code on the hot path.
const DYNAMIC_COLUMNS = Int32Array.of(
  COLUMNS.helloBytes, COLUMNS.reads, COLUMNS.maxGapMs, COLUMNS.acceptToHelloMs, COLUMNS.randomEntropy, COLUMNS.randomTimePrefix, COLUMNS.randomSeen,
  COLUMNS.sessionId, COLUMNS.cipherOrderDrift, COLUMNS.sourceRate, COLUMNS.sourceBurst, COLUMNS.sourcePrints, COLUMNS.knownGood,
);
const STEPS = Float64Array.of(32, 32, 8, 8, 8, 1, 32, 1, 32, 32, 32, 32, 1);
const values = new Float64Array(DYNAMIC_COLUMNS.length);

/** Fills `out` with the shape's columns and this connection's; returns the vector's key. */
export function writeVector(s: Shape, d: Dynamic, helloBytes: number, out: Float64Array): number {
  out.set(s.base);
  const x = values;
  x[0] = Math.log1p(helloBytes);
  x[1] = Math.log1p(Math.max(0, d.reads - 1));
  x[2] = Math.log1p(d.maxGapMs);
  x[3] = Math.log1p(d.acceptToHelloMs);
  x[4] = Math.max(0, 4.9 - d.randomEntropy);
  x[5] = d.randomTimePrefix ? 1 : 0;
  x[6] = Math.log1p(d.randomSeen);
  x[7] = d.sessionIdLength > 0 ? 1 : 0;
  x[8] = d.cipherOrderDrift;
  x[9] = Math.log1p(d.sourceRate);
  x[10] = Math.log1p(d.sourceBurst);
  x[11] = Math.log1p(d.sourcePrints);
  x[12] = d.knownGood ? 1 : 0;
  let h1 = Math.imul(s.id ^ 0x9e3779b9, 0x85ebca6b);
  let h2 = s.id + 0x27d4eb2f;
  for (let k = 0; k < x.length; k++) {
    const steps = STEPS[k]!;
    const n = Math.round(x[k]! * steps);
    out[DYNAMIC_COLUMNS[k]!] = n / steps;
    h1 = Math.imul(h1 ^ n, 0x01000193);
    h2 = Math.imul(h2 + n, 0x5bd1e995) ^ (h2 >>> 13);
  }
  h1 ^= h1 >>> 15;
  h1 = Math.imul(h1, 0x2c1b3c6d);
  h1 ^= h1 >>> 12;
  return (h1 >>> 0) * 2_097_152 + ((h2 >>> 0) >>> 11) || 1;
}

const RESUMPTION = ['none', 'session-id', 'session-ticket', 'psk'] as const;

/** The features of one handshake as explain shows them. */
export function describeFeatures(s: Shape, d: Dynamic, helloBytes: number): Record<string, unknown> {
  const { id: _id, ja4: _ja4, printHash: _printHash, ja4Key: _ja4Key, suites: _suites, drift: _drift, listsVersion: _lv, ja4Hit: _hit, ja3: _ja3, ja3Hit: _ja3Hit, base: _base, print: _print, ...shape } = s;
  return {
    ...shape,
    helloBytes,
    ...d,
    resumption: RESUMPTION[d.resumption],
  };
}

/** Rank of each suite in a reference order, made once per reference (see Engine). */
export function rankOf(reference: readonly number[]): Map<number, number> {
  return new Map(reference.map((c, i) => [c, i]));
}

/**
 * How far a cipher order is from a reference order of the same suites: the share of adjacent
 * pairs the two put in opposite order (0 = same order, 1 = reversed). GREASE is not in either.
 */
export function orderDrift(order: readonly number[], rank: ReadonlyMap<number, number>): number {
  let prev = -1;
  let pairs = 0;
  let discordant = 0;
  for (let i = 0; i < order.length; i++) {
    const r = rank.get(order[i]!);
    if (r === undefined) continue;
    if (prev >= 0) {
      pairs++;
      if (r < prev) discordant++;
    }
    prev = r;
  }
  return pairs === 0 ? 0 : discordant / pairs;
}
