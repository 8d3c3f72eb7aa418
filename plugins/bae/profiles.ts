// Client profiles: one per source address and one per address + JA4, bounded in count (two
// generations, see ProfileTable), aged out by their own last-seen time, saved to api.store in
// the background (changed ones every saveIntervalMs and at stop) and loaded back at start. Fields are small integers on purpose: V8 keeps them in
// the object itself (a double would be a separate heap number), which is what lets a million
// profiles fit in a few hundred MiB (see eval/bae/memory.ts).
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
  /** Resumption attempts (session id, ticket, PSK) the server accepted, and those it turned down. */
  resumed: number;
  resumeFails: number;
  /** Client certificates presented when asked, and how many of them did not verify. */
  certs: number;
  certBad: number;
  /** Index in CLASS_NAMES / LABEL_NAMES. */
  cls: number;
  label: number;
}

/** The order of a profile's fields in its stored form: an array of numbers, a fifth of the JSON of the object. */
const FIELDS = Object.keys(newProfile(0)) as Array<keyof Profile>;

function toRow(p: Profile): number[] {
  const row = new Array<number>(FIELDS.length);
  for (let i = 0; i < FIELDS.length; i++) row[i] = p[FIELDS[i]!];
  return row;
}

/** A stored profile: an array as `toRow` makes (missing fields at their initial value), or an object. */
function fromStored(value: unknown): Profile {
  const p = newProfile(0);
  if (Array.isArray(value)) {
    for (let i = 0; i < FIELDS.length && i < value.length; i++) if (typeof value[i] === 'number') p[FIELDS[i]!] = value[i] as number;
  } else if (value && typeof value === 'object') Object.assign(p, value);
  return p;
}

export function newProfile(t: number): Profile {
  return { first: t, last: t, conns: 0, rate: 0, burst: 0, burstAt: 0, score: 0, peak: 0, peakAt: t, requests: 0, errors: 0, uaMismatch: 0, randomReuse: 0, prints: 0, lastPrint: 0, resumed: 0, resumeFails: 0, certs: 0, certBad: 0, cls: 0, label: 0 };
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

/**
 * A profile of one clean handshake and nothing else (most of a scan of the address space, or
 * of a load test) holds nothing its next connection would not rebuild: it is not written to
 * the store until there is more (a second connection, a request, evidence, a label, an error).
 */
export function worthSaving(p: Profile): boolean {
  return p.conns > 1 || p.requests > 0 || p.peak > 0 || p.label !== 0 || p.errors > 0 || p.uaMismatch > 0 || p.randomReuse > 0 || p.resumeFails > 0 || p.resumed > 0 || p.certs > 0;
}

/**
 * Profiles keyed by address (or address+JA4) in two generations of plain Maps: a lookup that
 * finds a profile in the previous generation moves it to the current one, and when the current
 * one holds max/2 profiles it becomes the previous one and the one before is dropped. So what
 * was seen among the last max/2 new or returning clients is kept (an LRU's choice, in halves),
 * at most `max` in all, for a Map lookup or two per handshake instead of an LRU's bookkeeping.
 */
export class ProfileTable {
  private current = new Map<string, Profile>();
  private previous = new Map<string, Profile>();
  private dirty = new Set<string>();
  private readonly half: number;
  private readonly ttlMs: number;
  private readonly ttlS: number;
  private readonly prefix: string;

  constructor(prefix: string, max: number, ttlMs: number) {
    this.prefix = prefix;
    this.half = Math.max(1, Math.floor(max / 2));
    this.ttlMs = ttlMs;
    this.ttlS = Math.ceil(ttlMs / 1000);
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  private put(key: string, p: Profile): void {
    if (this.current.size >= this.half) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(key, p);
  }

  private lookup(key: string): Profile | undefined {
    const p = this.current.get(key);
    if (p !== undefined) return p;
    const old = this.previous.get(key);
    if (old !== undefined) {
      this.previous.delete(key);
      this.put(key, old);
    }
    return old;
  }

  /** The profile for `key` unless it is unknown or unseen for longer than the TTL. */
  peek(key: string, t = nowS()): Profile | undefined {
    const p = this.lookup(key);
    return p !== undefined && t - p.last <= this.ttlS ? p : undefined;
  }

  /** The profile for `key`, made on first sight (or anew when it aged out); marks it changed. */
  touch(key: string, t: number): Profile {
    let p = this.lookup(key);
    if (p === undefined) {
      p = newProfile(t);
      this.put(key, p);
    } else if (t - p.last > this.ttlS) {
      p = newProfile(t);
      this.current.set(key, p);
    }
    this.dirty.add(key);
    return p;
  }

  markChanged(key: string): void {
    this.dirty.add(key);
  }

  /** Every profile, aged out or not: the current generation first. */
  *entries(): Generator<[string, Profile]> {
    yield* this.current;
    yield* this.previous;
  }

  /**
   * Writes changed profiles worth restoring (see `worthSaving`) and not `derivable` to the
   * store; returns how many.
   */
  async save(store: PluginStore, derivable?: (p: Profile) => boolean): Promise<number> {
    const keys = this.dirty;
    this.dirty = new Set();
    let n = 0;
    for (const key of keys) {
      const p = this.current.get(key) ?? this.previous.get(key);
      if (p === undefined || !worthSaving(p) || derivable?.(p)) continue; // dropped: its stored copy expires on its own
      await store.set(this.prefix + key, toRow(p), { ttlMs: this.ttlMs });
      n++;
    }
    return n;
  }

  async restore(store: PluginStore): Promise<number> {
    let n = 0;
    const t = nowS();
    for await (const [key, value] of store.entries<unknown>(this.prefix)) {
      const p = fromStored(value);
      if (t - p.last > this.ttlS) continue;
      this.put(key.slice(this.prefix.length), p);
      n++;
    }
    return n;
  }

  /** Puts a profile in unless one is there already (a restore filling in derived profiles). */
  fill(key: string, p: Profile): boolean {
    if (this.current.has(key) || this.previous.has(key)) return false;
    this.put(key, p);
    return true;
  }

  /** The `limit` most recently seen, most recent first (for the admin API: sorts what it holds). */
  recent(limit: number): Array<[string, Profile]> {
    const t = nowS();
    return [...this.entries()]
      .filter(([, p]) => t - p.last <= this.ttlS)
      .sort((a, b) => b[1].last - a[1].last)
      .slice(0, limit);
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
    resumed: p.resumed,
    resumeFails: p.resumeFails,
    clientCertificates: p.certs,
    clientCertificatesUnverified: p.certBad,
    class: CLASS_NAMES[p.cls],
    label: LABEL_NAMES[p.label],
  };
}
