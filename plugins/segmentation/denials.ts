// Denied flows, counted per source and deciding rule and written to the audit log once per
// interval, so a flood of refused connections costs one record per pair per interval. The
// number of pairs held is bounded; past it, denials count under source "*".
export interface DenialRecord {
  src: string;
  by: string;
  count: number;
  first: string;
  last: string;
}

export class Denials {
  private pairs = new Map<string, { src: string; by: string; count: number; first: number; last: number }>();
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  add(src: string, by: string, now = Date.now()): void {
    let key = `${src}|${by}`;
    let p = this.pairs.get(key);
    if (!p && this.pairs.size >= this.max) {
      key = `*|${by}`;
      p = this.pairs.get(key);
      src = '*';
    }
    if (p) {
      p.count++;
      p.last = now;
    } else this.pairs.set(key, { src, by, count: 1, first: now, last: now });
  }

  /** The pairs counted since the last drain. */
  drain(): DenialRecord[] {
    const out = [...this.pairs.values()].map((p) => ({ src: p.src, by: p.by, count: p.count, first: new Date(p.first).toISOString(), last: new Date(p.last).toISOString() }));
    this.pairs = new Map();
    return out;
  }
}
