// Decisions kept for the admin API as rows of two flat arrays (numbers in a Float64Array,
// references to strings that exist anyway — connection ids, addresses, fingerprints, signal
// names — in a plain array) instead of an object per decision. A decision kept for thousands
// of handshakes would otherwise outlive several young-generation collections, be copied by each
// and die in the old generation, the costliest garbage there is; and a row is a few adjacent
// cache lines, where a column per field would touch a page per field on every write, which
// after OpenSSL has run means a cache and TLB miss each. Up to MAX_REASONS reasons per decision.
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
  /** Strongest first; the first `reasonCount` count (the array may hold more, reused). */
  reasons: readonly Reason[];
  reasonCount: number;
}

const PHASES: readonly Phase[] = ['hello', 'handshake', 'request'];
const HELLO = PHASES.indexOf('hello');
const ACTIONS: readonly Action[] = ['primary', 'strict', 'reject'];
export const MAX_REASONS = 5;

// Numbers: at, score, port, phase, action, enforced, reason count; per reason weight, a, b, c
// (NaN: not a number, see the references). References: conn, address, ja4, ja3; per reason
// signal, a, b, c (when strings), detail.
const NUMS = 7 + 4 * MAX_REASONS;
const REFS = 4 + 5 * MAX_REASONS;

type Detail = number | string | undefined;

export class DecisionRows {
  readonly size: number;
  /** Extra numbers and references per row, after the decision's, for the owner's own use. */
  readonly numStride: number;
  readonly refStride: number;
  readonly nums: Float64Array;
  readonly refs: unknown[];

  constructor(size: number, extraNums = 0, extraRefs = 0) {
    this.size = size;
    this.numStride = NUMS + extraNums;
    this.refStride = REFS + extraRefs;
    this.nums = new Float64Array(size * this.numStride);
    this.refs = new Array<unknown>(size * this.refStride).fill(undefined);
  }

  /** Where row `i`'s extra numbers and references start. */
  extraNum(i: number): number {
    return i * this.numStride + NUMS;
  }

  extraRef(i: number): number {
    return i * this.refStride + REFS;
  }

  write(i: number, d: Decision): void {
    const n = Math.min(MAX_REASONS, d.reasonCount);
    const nums = this.nums;
    const refs = this.refs;
    let o = i * this.numStride;
    let r = i * this.refStride;
    nums[o] = d.at;
    nums[o + 1] = d.score;
    nums[o + 2] = d.port;
    nums[o + 3] = PHASES.indexOf(d.phase);
    nums[o + 4] = ACTIONS.indexOf(d.action);
    nums[o + 5] = d.enforced ? 1 : 0;
    nums[o + 6] = n;
    refs[r] = d.conn;
    refs[r + 1] = d.address;
    refs[r + 2] = d.ja4;
    refs[r + 3] = d.ja3;
    o += 7;
    r += 4;
    for (let k = 0; k < n; k++, o += 4, r += 5) {
      const x = d.reasons[k]!;
      nums[o] = x.weight;
      refs[r] = x.signal;
      put(nums, refs, o + 1, r + 1, x.a);
      put(nums, refs, o + 2, r + 2, x.b);
      put(nums, refs, o + 3, r + 3, x.c);
      refs[r + 4] = x.detail;
    }
  }

  /** Whether row `i` holds a handshake decision on `address` (the scan for one reads no more). */
  isHelloOf(i: number, address: string): boolean {
    return this.refs[i * this.refStride + 1] === address && this.nums[i * this.numStride + 3] === HELLO;
  }

  /** Row `i` as a decision of its own (for the admin API, never on the hot path). */
  read(i: number): Decision {
    const nums = this.nums;
    const refs = this.refs;
    let o = i * this.numStride;
    let r = i * this.refStride;
    const n = nums[o + 6]!;
    const d: Decision = {
      phase: PHASES[nums[o + 3]!]!,
      at: nums[o]!,
      conn: refs[r] as string,
      address: refs[r + 1] as string,
      port: nums[o + 2]!,
      ja4: refs[r + 2] as string,
      ja3: refs[r + 3] as string,
      score: nums[o + 1]!,
      action: ACTIONS[nums[o + 4]!]!,
      enforced: nums[o + 5] === 1,
      reasons: [],
      reasonCount: n,
    };
    o += 7;
    r += 4;
    const reasons: Reason[] = [];
    for (let k = 0; k < n; k++, o += 4, r += 5) {
      reasons.push({ signal: refs[r] as string, weight: nums[o]!, a: get(nums, refs, o + 1, r + 1), b: get(nums, refs, o + 2, r + 2), c: get(nums, refs, o + 3, r + 3), detail: refs[r + 4] as string | undefined });
    }
    d.reasons = reasons;
    return d;
  }
}

function put(nums: Float64Array, refs: unknown[], o: number, r: number, x: Detail): void {
  if (typeof x === 'number') {
    nums[o] = x;
    refs[r] = undefined;
  } else {
    nums[o] = NaN;
    refs[r] = x;
  }
}

function get(nums: Float64Array, refs: unknown[], o: number, r: number): Detail {
  const x = nums[o]!;
  return Number.isNaN(x) ? (refs[r] as Detail) : x;
}
