// Per-fingerprint (JA4) signals over a sliding hour, in the spirit of Cloudflare's JA4 signals:
// handshakes, requests, HTTP/2 share, error share, successful requests, distinct sources,
// distinct User-Agents claiming it, and its rank among fingerprints by handshakes; plus its
// handshake rate over about the last 10 s. Counts live in twelve 5-minute buckets with running
// totals, expired when the 5-minute slot moves on, so reading a signal on the hot path is O(1).
// Distinct sources are counted from what the engine's address+JA4 profile already knows, when
// that source last used this fingerprint: a source is counted in the bucket of its latest
// handshake, and moved out of its older one, so the count is exact with no set of sources here.
// (A source whose profile aged out or was evicted within the hour counts twice; a fingerprint's
// stats made anew within the hour may uncount a source it never counted: both bounded, and
// gone when the hour moves on.) The User-Agent set is capped (a count at the cap means "at least").
import { LRUCache } from 'lru-cache';

const BUCKET_MS = 300_000;
const BUCKETS = 12;
const FIELDS = 6; // handshakes, requests, h2, errors, ok, sources whose latest handshake is in the bucket
const F_HANDSHAKES = 0;
const F_REQUESTS = 1;
const F_H2 = 2;
const F_ERRORS = 3;
const F_OK = 4;
const F_SOURCES = 5;
const RATE_TAU_MS = 10_000;
export const UA_CAP = 64;

export interface PrintSnapshot {
  counts: number[];
  slots: number[];
  uas: Array<[string, number]>;
  rate: number;
  rateAt: number;
  firstAt: number;
}

export class PrintStats {
  readonly counts = new Int32Array(BUCKETS * FIELDS);
  /** Which 5-minute slot each bucket currently holds (−1: none). */
  readonly slots = new Int32Array(BUCKETS).fill(-1);
  /** Sums over the buckets inside the hour. */
  readonly totals = new Int32Array(FIELDS);
  /** User-Agent → slot last seen, oldest first. */
  readonly uas = new Map<string, number>();
  rank = 0;
  /** Evicted from the table (or replaced in it): a holder must look it up again. */
  dropped = false;
  /** Handshakes counted through a holder since the table last saw this used (see PrintTable.handshake). */
  unlisted = 0;
  private slot = -1;
  /** When this fingerprint was first seen (ms). */
  private firstAt = 0;
  /** Decayed count of handshakes (τ = 10 s) and when it was last bumped. */
  private rate = 0;
  private rateAt = 0;

  /** Moves to the slot of `now`: drops buckets and distinct entries that left the hour. */
  private advance(now: number): number {
    const slot = Math.floor(now / BUCKET_MS);
    // The rare move out of line: every signal read calls this, and inlined with it each caller grew by kilobytes.
    return slot === this.slot ? slot : this.moveTo(slot);
  }

  private moveTo(slot: number): number {
    this.slot = slot;
    for (let i = 0; i < BUCKETS; i++) {
      const s = this.slots[i]!;
      if (s === -1 || s > slot - BUCKETS) continue;
      for (let f = 0; f < FIELDS; f++) this.totals[f]! -= this.counts[i * FIELDS + f]!;
      this.counts.fill(0, i * FIELDS, i * FIELDS + FIELDS);
      this.slots[i] = -1;
    }
    for (const [k, s] of this.uas) {
      if (s > slot - BUCKETS) break;
      this.uas.delete(k);
    }
    return slot;
  }

  add(field: number, now: number, n = 1): void {
    const slot = this.advance(now);
    const i = slot % BUCKETS;
    this.slots[i] = slot;
    this.counts[i * FIELDS + field]! += n;
    this.totals[field]! += n;
  }

  sum(field: number, now: number): number {
    this.advance(now);
    return this.totals[field]!;
  }

  /** A handshake from a source whose last one with this fingerprint was at `lastMs` (−1: none known). */
  handshake(lastMs: number, now: number): void {
    if (this.firstAt === 0) this.firstAt = now;
    this.add(F_HANDSHAKES, now);
    const before = lastMs < 0 ? -1 : Math.floor(lastMs / BUCKET_MS);
    if (before !== this.slot) {
      // add() has just dropped the buckets that left the hour: one still marked `before` is inside it.
      const i = before % BUCKETS;
      if (this.slots[i] === before && this.counts[i * FIELDS + F_SOURCES]! > 0) {
        this.counts[i * FIELDS + F_SOURCES]!--;
        this.totals[F_SOURCES]!--;
      }
      this.add(F_SOURCES, now);
    }
    this.rate = this.rate * Math.exp(-Math.max(0, now - this.rateAt) / RATE_TAU_MS) + 1;
    this.rateAt = now;
  }

  // A full set takes no newcomers (its count reads "at least the cap") until the hour drops
  // some; evicting one by one from the front of a Map would make every prune walk the holes.
  ua(ua: string, now: number): void {
    const slot = this.advance(now);
    const key = ua.slice(0, 200);
    const last = this.uas.get(key);
    if (last === slot) return;
    if (last !== undefined) this.uas.delete(key); // re-insert: the map's order stays oldest-first
    else if (this.uas.size >= UA_CAP) return;
    this.uas.set(key, slot);
  }

  distinctSources(now: number): number {
    return this.sum(F_SOURCES, now);
  }

  handshakes(now: number): number {
    return this.sum(F_HANDSHAKES, now);
  }

  /** How long it has been known, in ms. */
  age(now: number): number {
    return now - this.firstAt;
  }

  /** Handshakes in about the last 10 s. */
  burst(now: number): number {
    return this.rate * Math.exp(-Math.max(0, now - this.rateAt) / RATE_TAU_MS);
  }

  /** Requests answered below 400, per handshake, over the hour. */
  okPerHandshake(now: number): number {
    const h = this.sum(F_HANDSHAKES, now);
    return h > 0 ? this.totals[F_OK]! / h : 0;
  }

  signals(now: number): PrintSignals {
    const handshakes = this.sum(F_HANDSHAKES, now);
    const requests = this.totals[F_REQUESTS]!;
    const sources = this.totals[F_SOURCES]!;
    return {
      handshakes,
      requests,
      h2Share: requests > 0 ? this.totals[F_H2]! / requests : 0,
      errorShare: handshakes > 0 ? Math.min(1, this.totals[F_ERRORS]! / handshakes) : 0,
      okPerHandshake: handshakes > 0 ? this.totals[F_OK]! / handshakes : 0,
      sources,
      handshakesPerSource: sources > 0 ? handshakes / sources : 0,
      handshakesPer10s: Math.round(this.burst(now) * 100) / 100,
      userAgents: this.uas.size,
      rank: this.rank,
    };
  }

  snapshot(): PrintSnapshot {
    return { counts: [...this.counts], slots: [...this.slots], uas: [...this.uas], rate: this.rate, rateAt: this.rateAt, firstAt: this.firstAt };
  }

  static restore(s: PrintSnapshot, now: number): PrintStats {
    const p = new PrintStats();
    if (s.counts.length === p.counts.length && s.slots.length === p.slots.length) {
      p.counts.set(s.counts);
      p.slots.set(s.slots);
      for (let i = 0; i < BUCKETS; i++) {
        if (p.slots[i] === -1) continue;
        for (let f = 0; f < FIELDS; f++) p.totals[f]! += p.counts[i * FIELDS + f]!;
      }
    }
    for (const [k, slot] of s.uas.slice(-UA_CAP)) p.uas.set(k, slot);
    p.rate = s.rate;
    p.rateAt = s.rateAt;
    p.firstAt = s.firstAt ?? 0;
    p.advance(now);
    return p;
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
  /** Handshakes in about the last 10 s (decayed count). */
  handshakesPer10s: number;
  userAgents: number;
  rank: number;
}

export class PrintTable {
  private readonly table: LRUCache<string, PrintStats>;
  private rankedAt = 0;

  constructor(max: number) {
    // No TTL: a fingerprint unseen for an hour has empty buckets anyway, and the LRU bounds memory.
    this.table = new LRUCache<string, PrintStats>({ max, dispose: (s) => (s.dropped = true) });
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

  /**
   * Counts a handshake on `ja4`'s stats, through `held` (the stats a caller kept from the last
   * call, on the hello's shape) while the table still holds them: a handshake then costs no
   * lookup. Every 256th goes through the table anyway, so a busy fingerprint stays recent in
   * the LRU and is not the one evicted.
   */
  handshake(ja4: string, held: PrintStats | undefined, lastMs: number, now: number): PrintStats {
    let s = held;
    if (s === undefined || s.dropped || ++s.unlisted === 256) {
      s = this.stats(ja4);
      s.unlisted = 0;
    }
    s.handshake(lastMs, now);
    return s;
  }

  request(ja4: string, h2: boolean, ua: string | undefined, now: number): void {
    const s = this.stats(ja4);
    s.add(F_REQUESTS, now);
    if (h2) s.add(F_H2, now);
    if (ua) s.ua(ua, now);
  }

  response(ja4: string, status: number, now: number): void {
    if (status < 400) this.stats(ja4).add(F_OK, now);
  }

  error(ja4: string, now: number): void {
    this.stats(ja4).add(F_ERRORS, now);
  }

  /** Re-ranks by handshakes in the hour, at most every 5 s (called from the admin API and a timer). */
  rerank(now: number): void {
    if (now - this.rankedAt < 5_000) return;
    this.rankedAt = now;
    const all = [...this.table.values()].map((s) => [s.sum(F_HANDSHAKES, now), s] as const);
    all.sort((a, b) => b[0] - a[0]);
    all.forEach(([, s], i) => (s.rank = i + 1));
  }

  top(limit: number, now: number): Array<{ ja4: string } & PrintSignals> {
    this.rerank(now);
    return [...this.table.entries()]
      .map(([ja4, s]) => ({ ja4, ...s.signals(now) }))
      .sort((a, b) => b.handshakes - a.handshakes)
      .slice(0, limit);
  }

  /** The `limit` most recently used fingerprints with a handshake in the hour, for saving. */
  snapshot(limit: number, now: number): Array<[string, PrintSnapshot]> {
    const out: Array<[string, PrintSnapshot]> = [];
    for (const [ja4, s] of this.table.entries()) {
      if (out.length >= limit) break;
      if (s.sum(F_HANDSHAKES, now) > 0) out.push([ja4, s.snapshot()]);
    }
    return out;
  }

  restore(rows: Array<[string, PrintSnapshot]> | undefined, now: number): number {
    if (!Array.isArray(rows)) return 0;
    // Saved most recent first: set oldest first so the LRU order comes back as it was.
    for (let i = rows.length - 1; i >= 0; i--) {
      const [ja4, s] = rows[i]!;
      this.table.set(ja4, PrintStats.restore(s, now));
    }
    return rows.length;
  }
}
