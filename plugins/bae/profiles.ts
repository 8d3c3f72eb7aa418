// Client profiles: one per source address and one per address + JA4, in an LRU bounded in
// count and age, saved to api.store in the background (changed ones every saveIntervalMs and
// at stop) and loaded back at start. Fields are small integers on purpose: V8 keeps them in
// the object itself (a double would be a separate heap number), which is what lets a million
// profiles fit in a few hundred MiB (see eval/bae/memory.ts).
import { LRUCache } from 'lru-cache';
import type { PluginStore } from 'weaver';

/** Seconds are counted from 2024-01-01 so they stay small integers for decades. */
const EPOCH_S = 1_704_067_200;
export const nowS = (ms = Date.now()): number => Math.floor(ms / 1000) - EPOCH_S;

export const CLASS_NAMES = ['unknown', 'browser', 'api', 'automation'] as const;
export type ProfileClass = (typeof CLASS_NAMES)[number];
export const LABEL_NAMES = ['none', 'good', 'bad'] as const;

export interface Profile {
  /** First and last sighting, seconds since EPOCH_S. */
  first: number;
  last: number;
  conns: number;
  /** Decayed count of handshakes (τ = 10 s), ×100. */
  rate: number;
  /** Decayed count of handshakes (τ = 1 s), ×100, and when it was last bumped (ms mod 2³⁰). */
  burst: number;
  burstAt: number;
  /** Last score, and the highest recent evidence score (decays, half-life 10 min), both ×1000. */
  score: number;
  peak: number;
  peakAt: number;
  requests: number;
  errors: number;
  uaMismatch: number;
  randomReuse: number;
  /** How often the fingerprint changed from one connection to the next. */
  prints: number;
  lastPrint: number;
  /** Index in CLASS_NAMES / LABEL_NAMES. */
  cls: number;
  label: number;
}

export function newProfile(t: number): Profile {
  return { first: t, last: t, conns: 0, rate: 0, burst: 0, burstAt: 0, score: 0, peak: 0, peakAt: t, requests: 0, errors: 0, uaMismatch: 0, randomReuse: 0, prints: 0, lastPrint: 0, cls: 0, label: 0 };
}

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

/** A 31-bit hash of a string, to remember "which fingerprint last" in an integer. */
export function hash31(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 1) | 1;
}

export class ProfileTable {
  readonly cache: LRUCache<string, Profile>;
  private dirty = new Set<string>();
  private readonly ttlMs: number;
  private readonly prefix: string;

  constructor(prefix: string, max: number, ttlMs: number) {
    this.prefix = prefix;
    this.ttlMs = ttlMs;
    this.cache = new LRUCache<string, Profile>({ max, ttl: ttlMs, updateAgeOnGet: true, ttlAutopurge: false });
  }

  get size(): number {
    return this.cache.size;
  }

  peek(key: string): Profile | undefined {
    return this.cache.get(key);
  }

  /** The profile for `key`, made on first sight; marks it changed. */
  touch(key: string, t: number): Profile {
    let p = this.cache.get(key);
    if (p === undefined) {
      p = newProfile(t);
      this.cache.set(key, p);
    }
    this.dirty.add(key);
    return p;
  }

  markChanged(key: string): void {
    this.dirty.add(key);
  }

  /** Writes changed profiles to the store; returns how many. */
  async save(store: PluginStore): Promise<number> {
    const keys = this.dirty;
    this.dirty = new Set();
    let n = 0;
    for (const key of keys) {
      const p = this.cache.peek(key);
      if (p === undefined) continue; // evicted: its stored copy expires on its own
      await store.set(this.prefix + key, p, { ttlMs: this.ttlMs });
      n++;
    }
    return n;
  }

  async restore(store: PluginStore): Promise<number> {
    let n = 0;
    for await (const [key, value] of store.entries<Profile>(this.prefix)) {
      this.cache.set(key.slice(this.prefix.length), { ...newProfile(0), ...value });
      n++;
    }
    return n;
  }

  /** Most recently seen first. */
  *recent(limit: number): Generator<[string, Profile]> {
    let i = 0;
    for (const [k, v] of this.cache.entries()) {
      if (i++ >= limit) return;
      yield [k, v];
    }
  }
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
    class: CLASS_NAMES[p.cls],
    label: LABEL_NAMES[p.label],
  };
}
