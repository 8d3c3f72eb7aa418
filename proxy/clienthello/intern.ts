// Sequences of 16-bit code units interned as numbers, so per-hello keys cost no string: equal
// sequences get the same id, different ones never share one (a hash hit is confirmed unit by
// unit). Looking up a sequence already seen allocates nothing; only a new one copies its units.
import { randomInt } from 'node:crypto';

interface Entry {
  readonly id: number;
  readonly units: Uint16Array;
  readonly next: Entry | undefined;
}

/**
 * Entries per hash value. The hash is not keyed against a chosen-input attacker, so colliding
 * sequences past this many are simply not interned (id 0): a crafted flood costs a bounded
 * walk per lookup, never a long one.
 */
const CHAIN_MAX = 4;

export class Interner {
  private readonly table = new Map<number, Entry>();
  private readonly max: number;
  private readonly seed = randomInt(0x7fffffff);
  private count = 0;
  private last = 0;

  /** `max` entries at most: a full table starts over, a spray of new sequences costs misses, never memory. */
  constructor(max: number) {
    this.max = max;
  }

  /**
   * The id (1, 2, …) of `units[0..n)`, or 0 when it cannot be interned (see CHAIN_MAX). Ids keep
   * counting up when the table starts over, so an id is never given to a second sequence; the
   * same sequence seen again after that gets a new one.
   */
  id(units: Uint16Array, n: number): number {
    let h = this.seed ^ n;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ units[i]!, 0x01000193);
    h = (h ^ (h >>> 15)) & 0x3fffffff; // a small integer key keeps the Map on its fast path
    let head = this.table.get(h);
    let chain = 0;
    for (let e = head; e !== undefined; e = e.next, chain++) if (same(e.units, units, n)) return e.id;
    if (chain >= CHAIN_MAX) return 0;
    if (this.count >= this.max) {
      this.table.clear();
      this.count = 0;
      head = undefined;
    }
    const entry: Entry = { id: ++this.last, units: units.slice(0, n), next: head };
    this.table.set(h, entry);
    this.count++;
    return entry.id;
  }
}

function same(a: Uint16Array, b: Uint16Array, n: number): boolean {
  if (a.length !== n) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}
