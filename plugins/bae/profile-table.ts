// The profile table: profiles keyed by an address, or an address and a JA4, as rows of integers
// (profile-row.ts) found through two generations of open-addressing hash tables in typed
// arrays. A handshake from a new source then touches a handful of cache lines — a probe in each
// generation, its row, its key — where a Map from strings would walk a bucket, an entry and a
// key string in each generation, and a new client's key would be a string made for the lookup.
// A key is a 53-bit digest of its parts, never made into one string, started from a secret of
// the process (digest.ts), so a client cannot choose addresses that collide or pile up in one
// part of a table. Two keys share a digest by chance with odds of about n²/2⁵⁴ (1 in 10⁵ for a
// million keys), and would then share a profile.
//
// Generations: a lookup that finds a key in the previous one moves it to the current one; when
// the current one holds max/2 keys it becomes the previous one and the one before is dropped,
// its rows back on the free list. So what was seen among the last max/2 new or returning
// clients is kept (an LRU's choice, in halves), at most `max` in all, with no bookkeeping per
// lookup. Rows live in 4096-row chunks made as needed and never moved, so a ProfileRow view
// stays valid while its row is held.
import type { PluginStore } from 'weaver';
import { digestPair, digestSecret, MAX_PROBE } from './digest.ts';
import { CHANGED, FIELDS, GEN, newProfile, ProfileRow, ROW, SAVED_AT, SAVED_HASH, STRIDE, type Profile } from './profile-row.ts';
import { lasting, nowS, worthSaving } from './profiles.ts';

const CHUNK_BITS = 12;
const CHUNK = 1 << CHUNK_BITS;

/**
 * The table key of (a, b): the digest of `a`, or of the digests of `a` and `b`. A caller that
 * has the parts' digests already (the engine: the address's for both tables, the JA4's on the
 * hello's shape) makes it with digestPair instead, and keeps it for the connection's later phases.
 */
export const keyOf = (a: string, b?: string): number => (b === undefined ? digestSecret(a) : digestPair(digestSecret(a), digestSecret(b)));

/** One generation: digest and row side by side, so a probe is one cache line. */
class Generation {
  readonly slots: Float64Array;
  readonly mask: number;
  size = 0;
  id: number;

  constructor(capacity: number, id: number) {
    this.slots = new Float64Array(capacity * 2);
    this.mask = capacity - 1;
    this.id = id;
  }

  /** The slot of `key`, or the empty slot where it would go; -1 past MAX_PROBE. */
  slot(key: number): number {
    let i = (key >>> 0) & this.mask;
    for (let n = 0; this.slots[i * 2] !== 0 && this.slots[i * 2] !== key; n++) {
      if (n === MAX_PROBE) return -1;
      i = (i + 1) & this.mask;
    }
    return i;
  }
}

export class ProfileTable {
  private current: Generation;
  private previous: Generation;
  private readonly chunks: Int32Array[] = [];
  /** Per row: the key's two parts (address; JA4 or undefined). undefined address: a free row. */
  private readonly keys: Array<string | undefined> = [];
  private readonly free: number[] = [];
  private rows = 0;
  private live = 0;
  /** Rows changed since the last save, each once (the row's CHANGED field says whether it still is). */
  private dirty: number[] = [];
  private readonly half: number;
  private readonly ttlMs: number;
  private readonly ttlS: number;
  private readonly prefix: string;

  /** `prefix` names the table's rows in the store; a key is an address, or an address and a JA4. */
  constructor(prefix: string, max: number, ttlMs: number) {
    this.prefix = prefix;
    this.half = Math.max(1, Math.floor(max / 2));
    this.ttlMs = ttlMs;
    this.ttlS = Math.ceil(ttlMs / 1000);
    const capacity = 2 ** Math.ceil(Math.log2(this.half * 2));
    this.current = new Generation(capacity, 2);
    this.previous = new Generation(capacity, 1);
  }

  get size(): number {
    return this.live;
  }

  private data(row: number): Int32Array {
    return this.chunks[row >>> CHUNK_BITS]!;
  }

  private offset(row: number): number {
    return (row & (CHUNK - 1)) * STRIDE;
  }

  private view(row: number): ProfileRow {
    return new ProfileRow(this.data(row), this.offset(row));
  }

  /** The row of (a, b), moved into the current generation; -1 when unknown. */
  private find(key: number): number {
    const cur = this.current;
    const i = cur.slot(key);
    if (i >= 0 && cur.slots[i * 2] === key) return cur.slots[i * 2 + 1]!;
    const old = this.previous;
    const j = old.slot(key);
    if (j < 0 || old.slots[j * 2] !== key) return -1;
    const row = old.slots[j * 2 + 1]!;
    // Counted in the current generation before inserting: a flip the insert makes drops the
    // previous generation, which this row is leaving.
    this.data(row)[this.offset(row) + GEN] = cur.id;
    this.insert(key, row);
    return row;
  }

  private insert(key: number, row: number): void {
    if (this.current.size >= this.half) this.flip();
    let i = this.current.slot(key);
    if (i < 0) {
      this.flip();
      i = this.current.slot(key);
    }
    const cur = this.current;
    cur.slots[i * 2] = key;
    cur.slots[i * 2 + 1] = row;
    cur.size++;
    this.data(row)[this.offset(row) + GEN] = cur.id;
  }

  /** The previous generation is dropped (rows that moved on are not its any more) and reused as the current one. */
  private flip(): void {
    const dropped = this.previous;
    const s = dropped.slots;
    for (let i = 0; i < s.length; i += 2) {
      if (s[i] === 0) continue;
      const row = s[i + 1]!;
      const o = this.offset(row);
      if (this.data(row)[o + GEN] !== dropped.id) continue;
      this.data(row)[o + CHANGED] = 0;
      this.keys[row * 2] = undefined;
      this.keys[row * 2 + 1] = undefined;
      this.free.push(row);
      this.live--;
    }
    s.fill(0);
    dropped.size = 0;
    dropped.id = this.current.id + 1;
    this.previous = this.current;
    this.current = dropped;
  }

  /** A zeroed row for (a, b), in the current generation. */
  private allocate(key: number, a: string, b: string | undefined): number {
    let row = this.free.pop();
    if (row === undefined) {
      row = this.rows++;
      if (row >>> CHUNK_BITS >= this.chunks.length) this.chunks.push(new Int32Array(CHUNK * STRIDE));
    } else this.data(row).fill(0, this.offset(row), this.offset(row) + STRIDE);
    this.keys[row * 2] = a;
    this.keys[row * 2 + 1] = b;
    this.live++;
    this.insert(key, row);
    return row;
  }

  private markRow(row: number): void {
    const d = this.data(row);
    const o = this.offset(row) + CHANGED;
    if (d[o] === 1) return;
    d[o] = 1;
    this.dirty.push(row);
    // A row freed and reused before a save is queued twice: keep the list to what is changed.
    if (this.dirty.length > 4 * this.half) this.dirty = [...new Set(this.dirty)].filter((r) => this.data(r)[this.offset(r) + CHANGED] === 1);
  }

  /** The profile under `key` (keyOf) unless it is unknown or unseen for longer than the TTL. */
  peek(key: number, t = nowS()): ProfileRow | undefined {
    const row = this.find(key);
    if (row < 0) return undefined;
    const p = this.view(row);
    return t - p.last <= this.ttlS ? p : undefined;
  }

  /** The profile for (a, b), made on first sight (or anew when it aged out); marks it changed. */
  touch(a: string, b: string | undefined, t: number, key = keyOf(a, b)): ProfileRow {
    let row = this.find(key);
    if (row < 0) {
      row = this.allocate(key, a, b);
      this.start(row, t);
    } else if (t - this.view(row).last > this.ttlS) {
      const o = this.offset(row);
      this.data(row).fill(0, o, o + ROW);
      this.start(row, t);
    }
    this.markRow(row);
    return this.view(row);
  }

  /** A zeroed row's first sighting (allocate zeroes a row it takes; an aged-out one is zeroed first). */
  private start(row: number, t: number): void {
    const p = this.view(row);
    p.first = t;
    p.last = t;
    p.peakAt = t;
  }

  markChanged(key: number): void {
    const row = this.find(key);
    if (row >= 0) this.markRow(row);
  }

  /** Every profile held, aged out or not, with its key (`a` or `a|b`, as stored). */
  *entries(): Generator<[string, Profile]> {
    for (let row = 0; row < this.rows; row++) {
      const a = this.keys[row * 2];
      if (a === undefined) continue;
      const b = this.keys[row * 2 + 1];
      yield [b === undefined ? a : `${a}|${b}`, this.view(row)];
    }
  }

  /**
   * Writes changed profiles worth restoring (see `worthSaving`) and not `derivable` to the
   * store; returns how many. Unless `everything` (the save at stop), a profile whose `lasting`
   * hash is what it was at its last write is skipped while that write is less than half the
   * TTL old: a busy edge's returning clients would otherwise be written again on every save.
   */
  async save(store: PluginStore, derivable?: (p: Profile) => boolean, everything = false): Promise<number> {
    const rows = this.dirty;
    this.dirty = [];
    const t = Math.max(1, nowS());
    let n = 0;
    let k = 0;
    try {
      for (; k < rows.length; k++) {
        const row = rows[k]!;
        const a = this.keys[row * 2];
        const d = this.data(row);
        const o = this.offset(row);
        if (a === undefined || d[o + CHANGED] !== 1) continue; // dropped since: its stored copy expires on its own
        d[o + CHANGED] = 0;
        const p = this.view(row);
        if (!worthSaving(p) || derivable?.(p)) continue;
        const hash = lasting(p);
        if (!everything && d[o + SAVED_AT] !== 0 && d[o + SAVED_HASH] === hash && t - d[o + SAVED_AT]! < this.ttlS / 2) continue;
        const b = this.keys[row * 2 + 1];
        await store.set(this.prefix + (b === undefined ? a : `${a}|${b}`), toRow(p), { ttlMs: this.ttlMs });
        d[o + SAVED_AT] = t;
        d[o + SAVED_HASH] = hash;
        n++;
      }
    } finally {
      // A write that failed, and those not tried, wait for the next save.
      for (; k < rows.length; k++) {
        const row = rows[k]!;
        if (this.keys[row * 2] === undefined) continue;
        this.data(row)[this.offset(row) + CHANGED] = 0;
        this.markRow(row);
      }
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

  /** Puts a profile in under `key` (`a` or `a|b`) unless one is there already (a restore filling in derived profiles). */
  fill(key: string, p: Profile): boolean {
    const at = key.lastIndexOf('|');
    const [a, b] = at < 0 ? [key, undefined] : [key.slice(0, at), key.slice(at + 1)];
    const k = keyOf(a, b);
    if (this.find(k) >= 0) return false;
    const v = this.view(this.allocate(k, a, b));
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

function toRow(p: Profile): number[] {
  const row = new Array<number>(ROW);
  for (let i = 0; i < ROW; i++) row[i] = p[FIELDS[i]!];
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
