// Per-fingerprint (JA4) signals over a sliding hour, in the spirit of Cloudflare's JA4 signals:
// handshakes, requests, HTTP/2 share, error share, successful requests, distinct sources,
// distinct User-Agents claiming it, and its rank among fingerprints by handshakes. Counts live
// in twelve 5-minute buckets; distinct sets are capped (a count at the cap means "at least").
import { LRUCache } from 'lru-cache';

const BUCKET_MS = 300_000;
const BUCKETS = 12;
const FIELDS = 5; // handshakes, requests, h2, errors, ok
const F_HANDSHAKES = 0;
const F_REQUESTS = 1;
const F_H2 = 2;
const F_ERRORS = 3;
const F_OK = 4;
export const SOURCE_CAP = 4096;
export const UA_CAP = 64;

export class PrintStats {
  readonly counts = new Int32Array(BUCKETS * FIELDS);
  /** Which 5-minute slot each bucket currently holds. */
  readonly slots = new Int32Array(BUCKETS).fill(-1);
  /** Source → slot last seen. */
  readonly sources = new Map<string, number>();
  readonly uas = new Map<string, number>();
  rank = 0;

  private bucket(now: number): number {
    const slot = Math.floor(now / BUCKET_MS);
    const i = slot % BUCKETS;
    if (this.slots[i] !== slot) {
      this.slots[i] = slot;
      this.counts.fill(0, i * FIELDS, i * FIELDS + FIELDS);
    }
    return i * FIELDS;
  }

  add(field: number, now: number, n = 1): void {
    this.counts[this.bucket(now) + field]! += n;
  }

  sum(field: number, now: number): number {
    const slot = Math.floor(now / BUCKET_MS);
    let s = 0;
    for (let i = 0; i < BUCKETS; i++) if (this.slots[i]! > slot - BUCKETS) s += this.counts[i * FIELDS + field]!;
    return s;
  }

  private static seen(map: Map<string, number>, key: string, slot: number, cap: number): void {
    if (map.has(key)) map.delete(key); // re-insert: the map's order stays oldest-first
    else if (map.size >= cap) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
    }
    map.set(key, slot);
  }

  private static distinct(map: Map<string, number>, slot: number): number {
    // Oldest first: drop what fell out of the hour, then the rest is inside it.
    for (const [k, s] of map) {
      if (s > slot - BUCKETS) break;
      map.delete(k);
    }
    return map.size;
  }

  source(addr: string, now: number): void {
    PrintStats.seen(this.sources, addr, Math.floor(now / BUCKET_MS), SOURCE_CAP);
  }

  ua(ua: string, now: number): void {
    PrintStats.seen(this.uas, ua.slice(0, 200), Math.floor(now / BUCKET_MS), UA_CAP);
  }

  distinctSources(now: number): number {
    return PrintStats.distinct(this.sources, Math.floor(now / BUCKET_MS));
  }

  distinctUas(now: number): number {
    return PrintStats.distinct(this.uas, Math.floor(now / BUCKET_MS));
  }

  signals(now: number): PrintSignals {
    const handshakes = this.sum(F_HANDSHAKES, now);
    const requests = this.sum(F_REQUESTS, now);
    const sources = this.distinctSources(now);
    return {
      handshakes,
      requests,
      h2Share: requests > 0 ? this.sum(F_H2, now) / requests : 0,
      errorShare: handshakes > 0 ? Math.min(1, this.sum(F_ERRORS, now) / handshakes) : 0,
      okPerHandshake: handshakes > 0 ? this.sum(F_OK, now) / handshakes : 0,
      sources,
      handshakesPerSource: sources > 0 ? handshakes / sources : 0,
      userAgents: this.distinctUas(now),
      rank: this.rank,
    };
  }
}

export interface PrintSignals {
  handshakes: number;
  requests: number;
  h2Share: number;
  /** Connections that ended in an error (handshake failure, reset, 5xx/4xx answers) per handshake. */
  errorShare: number;
  /** Requests answered below 400, per handshake. */
  okPerHandshake: number;
  sources: number;
  handshakesPerSource: number;
  userAgents: number;
  rank: number;
}

export class PrintTable {
  private readonly table: LRUCache<string, PrintStats>;
  private rankedAt = 0;

  constructor(max: number) {
    this.table = new LRUCache<string, PrintStats>({ max, ttl: BUCKETS * BUCKET_MS, updateAgeOnGet: true });
  }

  get size(): number {
    return this.table.size;
  }

  stats(ja4: string): PrintStats {
    let s = this.table.get(ja4);
    if (s === undefined) this.table.set(ja4, (s = new PrintStats()));
    return s;
  }

  peek(ja4: string): PrintStats | undefined {
    return this.table.peek(ja4);
  }

  handshake(ja4: string, source: string, now: number): PrintStats {
    const s = this.stats(ja4);
    s.add(F_HANDSHAKES, now);
    s.source(source, now);
    return s;
  }

  request(ja4: string, h2: boolean, ua: string | undefined, now: number): void {
    const s = this.stats(ja4);
    s.add(F_REQUESTS, now);
    if (h2) s.add(F_H2, now);
    if (ua) s.ua(ua, now);
  }

  response(ja4: string, status: number, now: number): void {
    const s = this.stats(ja4);
    if (status < 400) s.add(F_OK, now);
  }

  error(ja4: string, now: number): void {
    this.stats(ja4).add(F_ERRORS, now);
  }

  /** Re-ranks by handshakes in the hour, at most every 5 s (called from the admin API and a timer). */
  rerank(now: number): void {
    if (now - this.rankedAt < 5_000) return;
    this.rankedAt = now;
    const all = [...this.table.entries()].map(([k, s]) => [k, s.sum(F_HANDSHAKES, now), s] as const);
    all.sort((a, b) => b[1] - a[1]);
    all.forEach(([, , s], i) => (s.rank = i + 1));
  }

  top(limit: number, now: number): Array<{ ja4: string } & PrintSignals> {
    this.rerank(now);
    return [...this.table.entries()]
      .map(([ja4, s]) => ({ ja4, ...s.signals(now) }))
      .sort((a, b) => b.handshakes - a.handshakes)
      .slice(0, limit);
  }
}
