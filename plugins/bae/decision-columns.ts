// Decisions kept for the admin API in fixed columns (typed arrays, and arrays of references to
// strings that exist anyway: connection ids, addresses, fingerprints, signal names) instead of an
// object per decision. A decision kept for thousands of handshakes would otherwise outlive
// several young-generation collections, be copied by each and die in the old generation: the
// costliest kind of garbage there is. Up to MAX_REASONS reasons are kept per decision.
import type { Reason } from './scoring.ts';

export type Action = 'primary' | 'strict' | 'reject';
export type Phase = 'hello' | 'handshake' | 'request';

export interface Decision {
  /** hello: the handshake decision; handshake: after it (client certificate); request: when a request made the client suspicious. */
  phase: Phase;
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
  /** Strongest first; `reasonCount` of them count (the array may hold more, reused). */
  reasons: readonly Reason[];
  reasonCount: number;
}

const PHASES: readonly Phase[] = ['hello', 'handshake', 'request'];
const ACTIONS: readonly Action[] = ['primary', 'strict', 'reject'];
export const MAX_REASONS = 5;

type Detail = number | string | undefined;

export class DecisionColumns {
  readonly size: number;
  private readonly at: Float64Array;
  private readonly score: Float64Array;
  private readonly port: Int32Array;
  /** phase, action, enforced, reason count: four bytes per decision. */
  private readonly flags: Uint8Array;
  private readonly conn: string[];
  private readonly address: string[];
  private readonly ja4: string[];
  private readonly ja3: string[];
  /** Reason k of decision i at i * MAX_REASONS + k. */
  private readonly signal: string[];
  private readonly weight: Float64Array;
  private readonly a: Detail[];
  private readonly b: Detail[];
  private readonly c: Detail[];
  private readonly detail: Array<string | undefined>;

  constructor(size: number) {
    this.size = size;
    this.at = new Float64Array(size);
    this.score = new Float64Array(size);
    this.port = new Int32Array(size);
    this.flags = new Uint8Array(size * 4);
    this.conn = new Array<string>(size).fill('');
    this.address = new Array<string>(size).fill('');
    this.ja4 = new Array<string>(size).fill('');
    this.ja3 = new Array<string>(size).fill('');
    const r = size * MAX_REASONS;
    this.signal = new Array<string>(r).fill('');
    this.weight = new Float64Array(r);
    this.a = new Array<Detail>(r).fill(undefined);
    this.b = new Array<Detail>(r).fill(undefined);
    this.c = new Array<Detail>(r).fill(undefined);
    this.detail = new Array<string | undefined>(r).fill(undefined);
  }

  write(i: number, d: Decision): void {
    this.at[i] = d.at;
    this.score[i] = d.score;
    this.port[i] = d.port;
    const n = Math.min(MAX_REASONS, d.reasonCount);
    const f = i * 4;
    this.flags[f] = PHASES.indexOf(d.phase);
    this.flags[f + 1] = ACTIONS.indexOf(d.action);
    this.flags[f + 2] = d.enforced ? 1 : 0;
    this.flags[f + 3] = n;
    this.conn[i] = d.conn;
    this.address[i] = d.address;
    this.ja4[i] = d.ja4;
    this.ja3[i] = d.ja3;
    for (let k = 0; k < n; k++) {
      const r = d.reasons[k]!;
      const j = i * MAX_REASONS + k;
      this.signal[j] = r.signal;
      this.weight[j] = r.weight;
      this.a[j] = r.a;
      this.b[j] = r.b;
      this.c[j] = r.c;
      this.detail[j] = r.detail;
    }
  }

  /** Decision `i` as an object of its own (for the admin API, never on the hot path). */
  read(i: number): Decision {
    const f = i * 4;
    const n = this.flags[f + 3]!;
    const reasons: Reason[] = [];
    for (let k = 0; k < n; k++) {
      const j = i * MAX_REASONS + k;
      reasons.push({ signal: this.signal[j]!, weight: this.weight[j]!, a: this.a[j], b: this.b[j], c: this.c[j], detail: this.detail[j] });
    }
    return {
      phase: PHASES[this.flags[f]!]!,
      at: this.at[i]!,
      conn: this.conn[i]!,
      address: this.address[i]!,
      port: this.port[i]!,
      ja4: this.ja4[i]!,
      ja3: this.ja3[i]!,
      score: this.score[i]!,
      action: ACTIONS[this.flags[f + 1]!]!,
      enforced: this.flags[f + 2] === 1,
      reasons,
      reasonCount: n,
    };
  }
}
