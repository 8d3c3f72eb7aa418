// Features of one handshake: what the ClientHello says (versions, list sizes, GREASE, ALPN/SNI,
// size), how it arrived (reads, gaps, time from accept), the quality of its client random, and
// the behaviour around it (rates of its source and fingerprint). `vector` turns them into the
// numbers the isolation forest sees: heavy-tailed counts through log1p, flags as 0/1.
import type { HelloInfo } from 'weaver';
import { byteEntropy, timeLikePrefix } from './randomness.ts';
import { isGrease, isWeakCipher, stackClass, type StackClass } from './stacks.ts';

export interface HelloFeatures {
  ja4: string;
  ja4a: string;
  ja4b: string;
  ja4c: string;
  ja3: string;
  /** Highest version offered, 0 = SSL 3.0 … 4 = TLS 1.3 (supported_versions, else legacy_version). */
  maxVersion: number;
  versions: number;
  ciphers: number;
  extensions: number;
  groups: number;
  sigalgs: number;
  grease: boolean;
  weakCiphers: number;
  alpn: boolean;
  h2: boolean;
  sni: boolean;
  helloBytes: number;
  reads: number;
  maxGapMs: number;
  acceptToHelloMs: number;
  randomEntropy: number;
  randomTimePrefix: boolean;
  /** Earlier connections that carried the same client random. */
  randomSeen: number;
  sessionIdLength: number;
  sessionTicket: boolean;
  pskResume: boolean;
  keyShares: number;
  stack: StackClass;
  /** 0 when the cipher order matches the order first seen for this cipher set, up to 1. */
  cipherOrderDrift: number;
  /** Handshakes from this source in about the last 10 s (decayed count). */
  sourceRate: number;
  /** Handshakes from this source in about the last second (decayed count). */
  sourceBurst: number;
  /** Handshakes with this fingerprint in about the last 10 s. */
  printRate: number;
  /** Distinct sources of this fingerprint in the last hour. */
  printSources: number;
  /** Distinct fingerprints of this source. */
  sourcePrints: number;
  knownGood: boolean;
}

const EXT_SESSION_TICKET = 0x0023;
const EXT_PRE_SHARED_KEY = 0x0029;

export function maxOfferedVersion(hello: HelloInfo): number {
  let max = 0;
  for (const v of hello.parsed.supportedVersions) if (!isGrease(v) && v > max) max = v;
  if (max === 0) max = hello.parsed.helloVersion;
  return max >= 0x0300 && max <= 0x0304 ? max - 0x0300 : 0;
}

/** What the engine knows about this handshake beyond the hello itself. */
export type Context = { knownApp: string | undefined } & Pick<
  HelloFeatures,
  'knownGood' | 'randomSeen' | 'cipherOrderDrift' | 'sourceRate' | 'sourceBurst' | 'printRate' | 'printSources' | 'sourcePrints'
>;

function countNonGrease(values: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (!isGrease(values[i]!)) n++;
  return n;
}

function hasGrease(values: readonly number[]): boolean {
  for (let i = 0; i < values.length; i++) if (isGrease(values[i]!)) return true;
  return false;
}

// One pass per list, no intermediate arrays: this runs on every handshake.
export function extractFeatures(hello: HelloInfo, ctx: Context, nowMs: number): HelloFeatures {
  const p = hello.parsed;
  const ja4 = hello.ja4;
  const first = ja4.indexOf('_');
  const second = ja4.indexOf('_', first + 1);
  let maxGap = 0;
  for (const g of hello.arrival.gapsMs) if (g > maxGap) maxGap = g;
  let weak = 0;
  for (let i = 0; i < p.ciphers.length; i++) if (isWeakCipher(p.ciphers[i]!)) weak++;
  let keyShares = 0;
  for (const k of p.keyShares) if (!isGrease(k.group)) keyShares++;
  return {
    ja4,
    ja4a: ja4.slice(0, first),
    ja4b: ja4.slice(first + 1, second),
    ja4c: ja4.slice(second + 1),
    ja3: hello.ja3,
    maxVersion: maxOfferedVersion(hello),
    versions: countNonGrease(p.supportedVersions),
    ciphers: countNonGrease(p.ciphers),
    extensions: countNonGrease(p.extensionTypes),
    groups: countNonGrease(p.supportedGroups),
    sigalgs: p.signatureAlgorithms.length,
    grease: hasGrease(p.ciphers) || hasGrease(p.extensionTypes),
    weakCiphers: weak,
    alpn: p.alpn.length > 0,
    h2: p.alpn.includes('h2'),
    sni: p.sni !== undefined,
    helloBytes: p.helloLength,
    reads: hello.arrival.reads,
    maxGapMs: maxGap,
    acceptToHelloMs: hello.arrival.acceptToCompleteMs,
    randomEntropy: byteEntropy(p.random),
    randomTimePrefix: timeLikePrefix(p.random, nowMs),
    randomSeen: ctx.randomSeen,
    sessionIdLength: p.sessionId.length,
    sessionTicket: p.extensionTypes.includes(EXT_SESSION_TICKET),
    pskResume: p.extensionTypes.includes(EXT_PRE_SHARED_KEY),
    keyShares,
    stack: stackClass(p, ctx.knownApp),
    cipherOrderDrift: ctx.cipherOrderDrift,
    sourceRate: ctx.sourceRate,
    sourceBurst: ctx.sourceBurst,
    printRate: ctx.printRate,
    printSources: ctx.printSources,
    sourcePrints: ctx.sourcePrints,
    knownGood: ctx.knownGood,
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
  'keyShares',
  'browserStack',
  'cipherOrderDrift',
  'log1p(sourceRate)',
  'log1p(sourceBurst)',
  'log1p(sourcePrints)',
  'knownGood',
] as const;

const b = (v: boolean): number => (v ? 1 : 0);

export function vector(f: HelloFeatures): number[] {
  return [
    f.maxVersion,
    Math.log1p(f.versions),
    Math.log1p(f.ciphers),
    Math.log1p(f.extensions),
    Math.log1p(f.groups),
    Math.log1p(f.sigalgs),
    b(f.grease),
    Math.log1p(f.weakCiphers),
    b(f.alpn),
    b(f.h2),
    b(f.sni),
    Math.log1p(f.helloBytes),
    Math.log1p(Math.max(0, f.reads - 1)),
    Math.log1p(f.maxGapMs),
    Math.log1p(f.acceptToHelloMs),
    Math.max(0, 4.9 - f.randomEntropy),
    b(f.randomTimePrefix),
    Math.log1p(f.randomSeen),
    f.sessionIdLength > 0 ? 1 : 0,
    b(f.sessionTicket),
    b(f.pskResume),
    Math.log1p(f.keyShares),
    b(f.stack === 'browser'),
    f.cipherOrderDrift,
    Math.log1p(f.sourceRate),
    Math.log1p(f.sourceBurst),
    Math.log1p(f.sourcePrints),
    b(f.knownGood),
  ];
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
