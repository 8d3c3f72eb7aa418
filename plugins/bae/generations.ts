// A bounded map for the hot path: two generations of plain Maps. Writes go to the current one;
// when it holds max/2 entries it becomes the previous one and the one before is dropped whole.
// So an entry is kept for at least the last max/2 writes, memory is bounded by max, and a
// lookup is one or two Map operations, with none of an LRU's bookkeeping and no one-by-one
// eviction (which, from the front of a large Map, leaves holes every later iteration walks).
export class Generations<K, V> {
  private current = new Map<K, V>();
  private previous = new Map<K, V>();
  private readonly half: number;

  constructor(max: number) {
    this.half = Math.max(1, Math.floor(max / 2));
  }

  get(key: K): V | undefined {
    const v = this.current.get(key);
    return v !== undefined ? v : this.previous.get(key);
  }

  set(key: K, value: V): void {
    if (this.current.size >= this.half) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(key, value);
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }
}
