// A bounded map for the hot path: two generations of plain Maps. Writes go to the current one;
// when it holds max/2 entries (or, with a TTL, is that old) it becomes the previous one and the
// one before is dropped whole. So an entry is kept for at least the last max/2 writes (and the
// TTL), memory is bounded by max, and a lookup is one or two Map operations, with none of an
// LRU's bookkeeping and no one-by-one eviction (which, from the front of a large Map, leaves
// holes every later iteration walks).
export class Generations<K, V> {
  private current = new Map<K, V>();
  private previous = new Map<K, V>();
  private startedAt: number;
  private readonly half: number;
  private readonly ttlMs: number;

  constructor(max: number, ttlMs = Infinity, now = Date.now()) {
    this.half = Math.max(1, Math.floor(max / 2));
    this.ttlMs = ttlMs;
    this.startedAt = now;
  }

  get(key: K): V | undefined {
    const v = this.current.get(key);
    return v !== undefined ? v : this.previous.get(key);
  }

  set(key: K, value: V, now = 0): void {
    if (this.current.size >= this.half || (this.ttlMs !== Infinity && now - this.startedAt >= this.ttlMs)) {
      this.previous = this.current;
      this.current = new Map();
      this.startedAt = now;
    }
    this.current.set(key, value);
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  /** Every entry, the current generation first (a key in both appears twice; the first is newer). */
  *entries(): Generator<[K, V]> {
    yield* this.current;
    yield* this.previous;
  }

  /** Puts entries back as `entries` gave them: the first `current` into the current generation, begun at `startedAt`. */
  load(rows: ReadonlyArray<[K, V]>, current: number, startedAt: number): void {
    this.previous = new Map(rows.slice(current));
    this.current = new Map(rows.slice(0, current));
    this.startedAt = startedAt;
  }

  get startedAtMs(): number {
    return this.startedAt;
  }

  get currentSize(): number {
    return this.current.size;
  }
}
