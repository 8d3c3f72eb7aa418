// Client profiles: one per source address and one per address + JA4, bounded in count (two
// generations, see ProfileTable), aged out by their own last-seen time, saved to api.store in
// the background (changed ones every saveIntervalMs and at stop) and loaded back at start. A
// profile is a row of integers in chunked Int32Arrays (profile-row.ts), found through a Map from
// its key to its row: the GC sees the keys and nothing else, which is what lets a million
// profiles fit in well under the memory target and keeps a new client from leaving objects
// behind for the collector (see eval/bae/memory.ts).
import type { PluginStore } from 'weaver';
import { FIELDS, newProfile, ProfileRow, ROW, type Profile } from './profile-row.ts';

export { copyProfile, type Profile } from './profile-row.ts';

/** Seconds are counted from 2024-01-01 so they stay small integers for decades. */
const EPOCH_S = 1_704_067_200;
export const nowS = (ms = Date.now()): number => Math.floor(ms / 1000) - EPOCH_S;

export const CLASS_NAMES = ['unknown', 'browser', 'api', 'automation'] as const;
export type ProfileClass = (typeof CLASS_NAMES)[number];
export const LABEL_NAMES = ['none', 'good', 'bad'] as const;

function toRow(p: Profile): number[] {
  const row = new Array<number>(ROW);
  for (let i = 0; i < ROW; i++) row[i] = p[FIELDS[i]!];
  return row;
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

const CHUNK_BITS = 12;
const CHUNK = 1 << CHUNK_BITS;

/**
 * Profiles keyed by address (or address+JA4) in two generations of plain Maps from key to row:
 * a lookup that finds a profile in the previous generation moves it to the current one, and
 * when the current one holds max/2 profiles it becomes the previous one and the one before is
 * dropped (its rows go back to the free list). So what was seen among the last max/2 new or
 * returning clients is kept (an LRU's choice, in halves), at most `max` in all, for a Map
 * lookup or two per handshake instead of an LRU's bookkeeping. Rows live in 4096-row chunks
 * made as needed and never moved, so a ProfileRow view stays valid while its row is held.
 */
export class ProfileTable {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private readonly chunks: Int32Array[] = [];
  /** Row → its key (undefined: free); row → changed since the last save (1) or not. */
  private readonly keys: Array<string | undefined> = [];
  private readonly changed: number[] = [];
  private readonly free: number[] = [];
  private rows = 0;
  /** Rows changed since the last save, each once (changed[row] says whether it still is). */
  private dirty: number[] = [];
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

  private view(row: number): ProfileRow {
    return new ProfileRow(this.chunks[row >>> CHUNK_BITS]!, (row & (CHUNK - 1)) * ROW);
  }

  /** A free row, zeroed, for `key`. */
  private allocate(key: string): number {
    let row = this.free.pop();
    if (row === undefined) {
      row = this.rows++;
      if (row >>> CHUNK_BITS >= this.chunks.length) this.chunks.push(new Int32Array(CHUNK * ROW));
    } else {
      const o = (row & (CHUNK - 1)) * ROW;
      this.chunks[row >>> CHUNK_BITS]!.fill(0, o, o + ROW);
    }
    this.keys[row] = key;
    this.changed[row] = 0;
    return row;
  }

  private put(key: string, row: number): void {
    if (this.current.size >= this.half) {
      for (const dropped of this.previous.values()) {
        this.keys[dropped] = undefined;
        this.changed[dropped] = 0;
        this.free.push(dropped);
      }
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(key, row);
  }

  private lookup(key: string): number | undefined {
    const row = this.current.get(key);
    if (row !== undefined) return row;
    const old = this.previous.get(key);
    if (old !== undefined) {
      this.previous.delete(key);
      this.put(key, old);
    }
    return old;
  }

  private markRow(row: number): void {
    if (this.changed[row] === 1) return;
    this.changed[row] = 1;
    this.dirty.push(row);
  }

  /** The profile for `key` unless it is unknown or unseen for longer than the TTL. */
  peek(key: string, t = nowS()): Profile | undefined {
    const row = this.lookup(key);
    if (row === undefined) return undefined;
    const p = this.view(row);
    return t - p.last <= this.ttlS ? p : undefined;
  }

  /** The profile for `key`, made on first sight (or anew when it aged out); marks it changed. */
  touch(key: string, t: number): Profile {
    let row = this.lookup(key);
    if (row === undefined) {
      row = this.allocate(key);
      this.put(key, row);
      this.reset(row, t);
    } else if (t - this.view(row).last > this.ttlS) this.reset(row, t);
    this.markRow(row);
    return this.view(row);
  }

  private reset(row: number, t: number): void {
    const d = this.chunks[row >>> CHUNK_BITS]!;
    const o = (row & (CHUNK - 1)) * ROW;
    d.fill(0, o, o + ROW);
    const p = this.view(row);
    p.first = t;
    p.last = t;
    p.peakAt = t;
  }

  markChanged(key: string): void {
    const row = this.current.get(key) ?? this.previous.get(key);
    if (row !== undefined) this.markRow(row);
  }

  /** Every profile, aged out or not: the current generation first. */
  *entries(): Generator<[string, Profile]> {
    for (const [k, row] of this.current) yield [k, this.view(row)];
    for (const [k, row] of this.previous) yield [k, this.view(row)];
  }

  /**
   * Writes changed profiles worth restoring (see `worthSaving`) and not `derivable` to the
   * store; returns how many.
   */
  async save(store: PluginStore, derivable?: (p: Profile) => boolean): Promise<number> {
    const rows = this.dirty;
    this.dirty = [];
    let n = 0;
    for (const row of rows) {
      const key = this.keys[row];
      if (this.changed[row] !== 1 || key === undefined) continue; // dropped since: its stored copy expires on its own
      this.changed[row] = 0;
      const p = this.view(row);
      if (!worthSaving(p) || derivable?.(p)) continue;
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
      if (this.fill(key.slice(this.prefix.length), p)) n++;
    }
    return n;
  }

  /** Puts a profile in unless one is there already (a restore filling in derived profiles). */
  fill(key: string, p: Profile): boolean {
    if (this.current.has(key) || this.previous.has(key)) return false;
    const row = this.allocate(key);
    this.put(key, row);
    const v = this.view(row);
    for (const f of FIELDS) v[f] = p[f];
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

/** A stored profile: an array as `toRow` makes (missing fields at their initial value), or an object. */
function fromStored(value: unknown): Profile {
  const p = newProfile(0);
  if (Array.isArray(value)) {
    for (let i = 0; i < FIELDS.length && i < value.length; i++) if (typeof value[i] === 'number') p[FIELDS[i]!] = value[i] as number;
  } else if (value && typeof value === 'object') Object.assign(p, value);
  return p;
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
