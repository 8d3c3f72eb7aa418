// What the engine remembers of its decisions for the admin API: a ring of the latest ones, and
// per address the parts of its last handshake decision that explain it. Both hold what the hot
// path already has (the decision, the shape, the per-connection features); timestamps become
// text and the features an object only when someone asks.
import { Generations } from './generations.ts';
import { describeFeatures, VECTOR_NAMES, VECTOR_SIZE, writeVector, type Dynamic } from './features.ts';
import { describe, type Reason } from './scoring.ts';
import type { Shape } from './shape.ts';

export type Action = 'primary' | 'strict' | 'reject';

export interface Decision {
  /** hello: the handshake decision; handshake: after it (client certificate); request: when a request made the client suspicious. */
  phase: 'hello' | 'handshake' | 'request';
  /** Epoch ms. */
  at: number;
  conn: string;
  address: string;
  port: number;
  ja4: string;
  ja3: string;
  score: number;
  action: Action;
  /** What the plugin did: the action, unless observeOnly. */
  enforced: boolean;
  reasons: readonly Reason[];
}

export type DecisionView = Omit<Decision, 'at' | 'reasons'> & { at: string; reasons: Array<ReturnType<typeof describe>> };

export interface Explained extends DecisionView {
  features: Record<string, unknown>;
  vector: Record<string, number>;
  forest: { raw: number; calibrated: number } | null;
}

interface ExplainParts {
  d: Decision;
  shape: Shape;
  dyn: Dynamic;
  helloBytes: number;
  raw: number | undefined;
  forest: number | undefined;
}

const RECENT = 5_000;

export function view(d: Decision): DecisionView {
  return { ...d, at: new Date(d.at).toISOString(), reasons: d.reasons.map(describe) };
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export class DecisionLog {
  private readonly ring: Decision[] = [];
  private next = 0;
  /** At least the latest 5,000 addresses' last decisions. */
  private readonly explained = new Generations<string, ExplainParts>(10_000);

  add(d: Decision): void {
    if (this.ring.length < RECENT) this.ring.push(d);
    else this.ring[this.next] = d;
    this.next = (this.next + 1) % RECENT;
  }

  /** Keeps what explains `d`, the address's latest handshake decision. */
  keep(d: Decision, shape: Shape, dyn: Dynamic, helloBytes: number, raw: number | undefined, forest: number | undefined): void {
    this.explained.set(d.address, { d, shape, dyn, helloBytes, raw, forest });
  }

  /** The latest `limit` decisions, oldest first. */
  recent(limit: number): DecisionView[] {
    const n = Math.min(limit, this.ring.length);
    const out: DecisionView[] = [];
    for (let k = n; k >= 1; k--) out.push(view(this.ring[(this.next - k + RECENT) % RECENT]!));
    return out;
  }

  explain(addr: string): Explained | undefined {
    const e = this.explained.get(addr);
    if (!e) return undefined;
    const v = new Float64Array(VECTOR_SIZE);
    writeVector(e.shape, e.dyn, e.helloBytes, v);
    return {
      ...view(e.d),
      features: describeFeatures(e.shape, e.dyn, e.helloBytes),
      vector: Object.fromEntries(VECTOR_NAMES.map((n, i) => [n, round3(v[i]!)])),
      forest: e.raw === undefined ? null : { raw: round3(e.raw), calibrated: round3(e.forest!) },
    };
  }
}
