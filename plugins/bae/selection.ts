// Data-server choice by profile. Servers carry the profile classes they serve as labels
// (`browser`, `api`, `automation`); a server without any class label serves every class, at
// half the similarity. Each candidate is ranked by
//     similarity · wS + reputation · wR + (1 − load) · wL
// where reputation is the EWMA of outcome quality of this server for this profile class
// (an answer below 500: 1, halved at `latencyMs`; a 5xx, a reset or a failed connection: 0),
// starting at 0.75 and drifting back towards it with a 5-minute half-life when unused, so a
// server that failed once is tried again later; load is in-flight requests against the busiest.
import type { UpstreamCandidate } from 'weaver';
import { CLASS_NAMES, type ProfileClass } from './profiles.ts';

const PRIOR = 0.75;
const RECOVERY_HALF_LIFE_MS = 300_000;
const CLASS_LABELS = new Set<string>(CLASS_NAMES.slice(1));

interface Rep {
  q: number;
  n: number;
  at: number;
}

export interface SelectionWeights {
  similarity: number;
  reputation: number;
  load: number;
  latencyMs: number;
  alpha: number;
}

export class ServerReputation {
  private readonly table = new Map<string, Rep>();
  private readonly w: SelectionWeights;

  constructor(w: SelectionWeights) {
    this.w = w;
  }

  private key(server: string, cls: ProfileClass): string {
    return `${server}|${cls}`;
  }

  /** Reputation in [0, 1] of `server` for clients of class `cls`, now. */
  reputation(server: string, cls: ProfileClass, now = Date.now()): number {
    const r = this.table.get(this.key(server, cls));
    if (!r) return PRIOR;
    const back = 0.5 ** ((now - r.at) / RECOVERY_HALF_LIFE_MS);
    return PRIOR + (r.q - PRIOR) * back;
  }

  /** One outcome: `status` 0 means no answer (reset, connect failure, timeout). */
  outcome(server: string, cls: ProfileClass, status: number, latencyMs: number, now = Date.now()): void {
    const quality = status > 0 && status < 500 ? 1 / (1 + latencyMs / this.w.latencyMs) ** 1 : 0;
    const k = this.key(server, cls);
    const current = this.reputation(server, cls, now);
    const r = this.table.get(k);
    const q = current + this.w.alpha * (quality - current);
    this.table.set(k, { q, n: (r?.n ?? 0) + 1, at: now });
  }

  similarity(labels: readonly string[], cls: ProfileClass): number {
    const classes = labels.filter((l) => CLASS_LABELS.has(l));
    if (classes.length === 0) return 0.5;
    if (classes.includes(cls)) return 1;
    if (cls === 'unknown') return 0.5;
    // api and automation clients are both programs: a near match.
    if ((cls === 'api' && classes.includes('automation')) || (cls === 'automation' && classes.includes('api'))) return 0.4;
    return 0;
  }

  rank(candidates: readonly UpstreamCandidate[], cls: ProfileClass, now = Date.now()): Array<{ c: UpstreamCandidate; total: number; similarity: number; reputation: number; load: number }> {
    const busiest = Math.max(1, ...candidates.map((c) => c.inflight));
    return candidates
      .map((c, i) => {
        const similarity = this.similarity(c.labels, cls);
        const reputation = this.reputation(c.id, cls, now);
        const load = c.inflight / busiest;
        const total = similarity * this.w.similarity + reputation * this.w.reputation + (1 - load) * this.w.load;
        return { c, total, similarity, reputation, load, i };
      })
      .sort((a, b) => b.total - a.total || a.i - b.i);
  }

  describe(now = Date.now()): Array<{ server: string; class: string; reputation: number; outcomes: number }> {
    return [...this.table.entries()].map(([k, r]) => {
      const at = k.lastIndexOf('|');
      const server = k.slice(0, at);
      const cls = k.slice(at + 1) as ProfileClass;
      return { server, class: cls, reputation: Math.round(this.reputation(server, cls, now) * 1000) / 1000, outcomes: r.n };
    });
  }

  toJSON(): Record<string, Rep> {
    return Object.fromEntries(this.table);
  }

  restore(saved: Record<string, Rep> | undefined): void {
    for (const [k, r] of Object.entries(saved ?? {})) this.table.set(k, r);
  }
}
