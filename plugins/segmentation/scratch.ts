// A list the engine reuses from one evaluation to the next without allocating: clearing an
// array with `length = 0` drops its backing store in V8, so the next push allocates again;
// this one keeps its array and counts instead (entries past `n` are stale, not cleared).
export class Scratch<T> {
  readonly items: T[] = [];
  n = 0;

  push(v: T): void {
    this.items[this.n++] = v;
  }

  clear(): void {
    this.n = 0;
  }

  toArray(): T[] {
    return this.items.slice(0, this.n);
  }
}
