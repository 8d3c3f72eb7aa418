// Client profiles: one per source address and one per address + JA4, bounded in count (two
// generations, see profile-table.ts), aged out by their own last-seen time, saved to api.store
// in the background (changed ones every saveIntervalMs and at stop) and loaded back at start.
// A profile is a row of integers (profile-row.ts): the GC sees none of them, which is what lets
// a million profiles fit in well under the memory target and keeps a new client from leaving
// objects behind for the collector (see eval/bae/memory.ts). Here: what a profile counts, and
// how it is shown.
import type { Profile } from './profile-row.ts';

export { copyProfile, type Profile } from './profile-row.ts';

/** Seconds are counted from 2024-01-01 so they stay small integers for decades. */
const EPOCH_S = 1_704_067_200;
export const nowS = (ms = Date.now()): number => Math.floor(ms / 1000) - EPOCH_S;
/** Epoch ms of a time in nowS's seconds. */
export const msOf = (t: number): number => (t + EPOCH_S) * 1000;

export const CLASS_NAMES = ['unknown', 'browser', 'api', 'automation'] as const;
export type ProfileClass = (typeof CLASS_NAMES)[number];
export const LABEL_NAMES = ['none', 'good', 'bad'] as const;

const RATE_TAU_S = 10;
const BURST_TAU_MS = 1_000;
const MS_WRAP = 0x40000000;
const PEAK_HALF_LIFE_S = 600;

/** Adds one event to a decayed count kept ×100; returns the new count (not scaled). */
export function bumpRate(p: Profile, t: number): number {
  const decay = Math.exp(-Math.max(0, t - p.last) / RATE_TAU_S);
  p.rate = Math.round(p.rate * decay) + 100;
  return p.rate / 100;
}

/** Adds one event to the 1-second decayed count kept ×100; returns the new count. */
export function bumpBurst(p: Profile, nowMs: number): number {
  const at = nowMs % MS_WRAP;
  const elapsed = (at - p.burstAt + MS_WRAP) % MS_WRAP;
  p.burst = Math.round(p.burst * Math.exp(-elapsed / BURST_TAU_MS)) + 100;
  p.burstAt = at;
  return p.burst / 100;
}

/** The profile's recent peak score in [0, 1], halved every 10 minutes. */
export function recentPeak(p: Profile, t: number): number {
  return (p.peak / 1000) * 0.5 ** (Math.max(0, t - p.peakAt) / PEAK_HALF_LIFE_S);
}

export function recordScore(p: Profile, score: number, evidence: number, t: number): void {
  p.score = Math.round(score * 1000);
  if (evidence >= recentPeak(p, t)) {
    p.peak = Math.round(evidence * 1000);
    p.peakAt = t;
  }
}

const log2Bucket = (n: number): number => (n <= 0 ? 0 : 32 - Math.clz32(n));

/**
 * A hash of what a restart must not lose from a profile: its evidence exactly, its counts to
 * the nearest power of two. What moves on every handshake of an ordinary client — last seen,
 * the rates (stale a few seconds after a restart anyway), the last score — is not in it, so a
 * returning client that did nothing new is not written again on every save (see
 * ProfileTable.save), only when a count doubles or its stored copy is half its TTL old.
 */
export function lasting(p: Profile): number {
  const parts = [
    log2Bucket(p.conns), log2Bucket(p.requests), log2Bucket(p.errors), log2Bucket(p.resumed), log2Bucket(p.certs),
    p.peak, p.peak > 0 ? p.peakAt : 0, p.uaMismatch, p.randomReuse, p.resumeFails, p.certBad, p.prints, p.cls, p.label,
  ];
  let h = 0x811c9dc5;
  for (const x of parts) h = Math.imul(h ^ x, 0x01000193);
  return h | 0;
}

/** A 31-bit hash of a string, to remember "which fingerprint last" in an integer. */
export function hash31(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 1) | 1;
}

/**
 * A profile of one clean handshake and nothing else (most of a scan of the address space, or
 * of a load test) holds nothing its next connection would not rebuild: it is not written to
 * the store until there is more (a second connection, a request, evidence, a label, an error).
 */
export function worthSaving(p: Profile): boolean {
  return p.conns > 1 || p.requests > 0 || p.peak > 0 || p.label !== 0 || p.errors > 0 || p.uaMismatch > 0 || p.randomReuse > 0 || p.resumeFails > 0 || p.resumed > 0 || p.certs > 0;
}

export function describeProfile(p: Profile): Record<string, unknown> {
  const t = nowS();
  return {
    firstSeen: new Date((p.first + EPOCH_S) * 1000).toISOString(),
    lastSeen: new Date((p.last + EPOCH_S) * 1000).toISOString(),
    connections: p.conns,
    ratePer10s: Math.round((p.rate / 100) * Math.exp(-Math.max(0, t - p.last) / RATE_TAU_S) * 100) / 100,
    lastScore: p.score / 1000,
    recentPeak: Math.round(recentPeak(p, t) * 1000) / 1000,
    requests: p.requests,
    errors: p.errors,
    uaMismatches: p.uaMismatch,
    randomReuses: p.randomReuse,
    fingerprintChanges: p.prints,
    resumed: p.resumed,
    resumeFails: p.resumeFails,
    clientCertificates: p.certs,
    clientCertificatesUnverified: p.certBad,
    class: CLASS_NAMES[p.cls],
    label: LABEL_NAMES[p.label],
  };
}
