// Two generations of open-addressing hash tables from a 53-bit number key to a count (0–255),
// in typed arrays: recording a key allocates nothing (a Map would box each key above 2³¹ as a
// heap number), the GC never walks the tables, and memory is fixed by `max`. Writes go to the
// current generation; when it holds max/2 keys (or is `ttlMs` old) it becomes the previous one
// and the one before is cleared for reuse, so a key is kept for at least the last max/2 new
// keys (and the TTL), as generations.ts does for Maps without one. Where a key lands depends on a
// per-process secret (digest.ts), so a client cannot choose randoms that pile up in one place.
import { MAX_PROBE, slotOf } from './digest.ts';

/** Key and count side by side (a Float64Array of pairs), so a probe is one cache line. */
class Table {
  readonly slots: Float64Array;
  readonly mask: number;
  size = 0;

  constructor(capacity: number) {
    this.slots = new Float64Array(capacity * 2);
    this.mask = capacity - 1;
  }

  /** The key's slot, or the empty slot where it would go (linear probing; 0 marks empty); -1 past MAX_PROBE. */
  slot(key: number): number {
    let i = slotOf(key, this.mask);
    for (let n = 0; this.slots[i * 2] !== 0 && this.slots[i * 2] !== key; n++) {
      if (n === MAX_PROBE) return -1;
      i = (i + 1) & this.mask;
    }
    return i;
  }

  key(i: number): number {
    return this.slots[i * 2]!;
  }

  count(i: number): number {
    return this.slots[i * 2 + 1]!;
  }

  set(i: number, key: number, count: number): void {
    if (this.slots[i * 2] === 0) this.size++;
    this.slots[i * 2] = key;
    this.slots[i * 2 + 1] = count;
  }

  clear(): void {
    this.slots.fill(0);
    this.size = 0;
  }
}

export class CountTable {
  private current: Table;
  private previous: Table;
  private startedAt: number;
  private readonly half: number;
  private readonly ttlMs: number;

  constructor(max: number, ttlMs: number, now = Date.now()) {
    this.half = Math.max(1, Math.floor(max / 2));
    this.ttlMs = ttlMs;
    this.startedAt = now;
    // At most half full, so a probe ends after a step or two.
    const capacity = 2 ** Math.ceil(Math.log2(this.half * 2));
    this.current = new Table(capacity);
    this.previous = new Table(capacity);
  }

  /** Counts one sighting of `key` (≠ 0); returns how many there had been before. */
  bump(key: number, now: number): number {
    if (this.current.size >= this.half || now - this.startedAt >= this.ttlMs) this.flip(now);
    let cur = this.current;
    let i = cur.slot(key);
    if (i < 0) {
      this.flip(now);
      cur = this.current;
      i = cur.slot(key);
    }
    if (cur.key(i) === key) {
      const before = cur.count(i);
      if (before < 255) cur.set(i, key, before + 1);
      return before;
    }
    const old = this.previous;
    const j = old.slot(key);
    const before = j >= 0 && old.key(j) === key ? old.count(j) : 0;
    cur.set(i, key, Math.min(255, before + 1));
    return before;
  }

  private flip(now: number): void {
    const dropped = this.previous;
    dropped.clear();
    this.previous = this.current;
    this.current = dropped;
    this.startedAt = now;
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  get startedAtMs(): number {
    return this.startedAt;
  }

  /**
   * Every key and its count, the current generation's first `current` (a key in both appears
   * twice; the first is newer): a scan of the two tables into two arrays, for a snapshot.
   */
  columns(): { keys: Float64Array; counts: Uint8Array; current: number } {
    const keys = new Float64Array(this.size);
    const counts = new Uint8Array(this.size);
    let n = 0;
    for (const slots of [this.current.slots, this.previous.slots]) {
      for (let i = 0; i < slots.length; i += 2) {
        if (slots[i] === 0) continue;
        keys[n] = slots[i]!;
        counts[n++] = slots[i + 1]!;
      }
    }
    return { keys, counts, current: this.current.size };
  }

  /** Puts back what `columns` gave: the first `current` into the current generation, begun at `startedAt`. */
  load(keys: ArrayLike<number>, counts: ArrayLike<number>, current: number, startedAt: number): void {
    this.current.clear();
    this.previous.clear();
    this.startedAt = startedAt;
    const n = Math.min(keys.length, counts.length);
    for (let k = 0; k < n; k++) {
      const key = keys[k]!;
      const t = k < current ? this.current : this.previous;
      if (key === 0 || !Number.isFinite(key) || t.size >= this.half) continue;
      const i = t.slot(key);
      if (i >= 0 && t.key(i) !== key) t.set(i, key, Math.max(0, Math.min(255, counts[k]!)));
    }
  }
}
