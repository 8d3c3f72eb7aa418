// What the engine remembers of its decisions for the admin API: a ring of the latest ones, each
// handshake decision with the parts that explain it, as rows of flat arrays (decision-columns.ts)
// written from what the hot path already has (the decision, the shape, the per-connection
// features): objects, text and timestamps are made only when someone asks. An address's profile
// notes the row of its last handshake decision, so `explain` finds it with no lookup of its own;
// once the profile is gone (aged past its TTL), explain scans the ring. Either way it answers
// while the decision is among the latest RECENT.
import { DecisionRows, type Decision } from './decision-columns.ts';
import { describeFeatures, DYNAMIC_SIZE, readDynamic, VECTOR_NAMES, VECTOR_SIZE, writeDynamic, writeVector, type Dynamic } from './features.ts';
import { describe } from './scoring.ts';
import type { ProfileRow } from './profile-row.ts';
import type { Shape } from './shape.ts';

export type { Action, Decision } from './decision-columns.ts';

export type DecisionView = Omit<Decision, 'at' | 'reasons' | 'reasonCount'> & { at: string; reasons: Array<ReturnType<typeof describe>> };

export interface Explained extends DecisionView {
  features: Record<string, unknown>;
  vector: Record<string, number>;
  forest: { raw: number; calibrated: number } | null;
}

const RECENT = 10_000;
/** Where a row's extras sit: the per-connection features, then these, then in the references the shape. */
const HELLO_BYTES = DYNAMIC_SIZE;
const RAW = DYNAMIC_SIZE + 1;
const CALIBRATED = DYNAMIC_SIZE + 2;

export function view(d: Decision): DecisionView {
  const { reasonCount: _n, ...rest } = d;
  return { ...rest, at: new Date(d.at).toISOString(), reasons: d.reasons.map(describe) };
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export class DecisionLog {
  /** The decision, then for a handshake decision its per-connection features, hello bytes, raw and calibrated forest score (NaN: none); the shape. */
  private readonly ring = new DecisionRows(RECENT, DYNAMIC_SIZE + 3, 1);
  private next = 0;
  private count = 0;

  /** A decision made after the handshake (nothing more to explain it than its reason). */
  add(d: Decision): void {
    this.ring.refs[this.ring.extraRef(this.advance(d))] = undefined;
  }

  /** A handshake decision and what explains it; `address`, its address's profile, notes the row (1 + row). */
  keep(d: Decision, address: ProfileRow, shape: Shape, dyn: Dynamic, helloBytes: number, raw: number | undefined, forest: number | undefined): void {
    const rows = this.ring;
    const slot = this.advance(d);
    const o = rows.extraNum(slot);
    writeDynamic(dyn, rows.nums, o);
    rows.nums[o + HELLO_BYTES] = helloBytes;
    rows.nums[o + RAW] = raw ?? NaN;
    rows.nums[o + CALIBRATED] = forest ?? NaN;
    rows.refs[rows.extraRef(slot)] = shape;
    address.note = slot + 1;
  }

  private advance(d: Decision): number {
    const slot = this.next;
    this.ring.write(slot, d);
    this.next = (slot + 1) % RECENT;
    if (this.count < RECENT) this.count++;
    return slot;
  }

  private latestHelloOf(addr: string): number {
    for (let k = 1; k <= this.count; k++) {
      const slot = (this.next - k + RECENT) % RECENT;
      if (this.ring.isHelloOf(slot, addr)) return slot;
    }
    return -1;
  }

  /** The latest `limit` decisions, oldest first. */
  recent(limit: number): DecisionView[] {
    const n = Math.min(limit, this.count);
    const out: DecisionView[] = [];
    for (let k = n; k >= 1; k--) out.push(view(this.ring.read((this.next - k + RECENT) % RECENT)));
    return out;
  }

  /**
   * The last handshake decision on `addr` while the ring still holds it: from `note`, the row its
   * profile noted, or, with no profile or a note whose row holds a newer decision by now, the
   * newest such row in the ring.
   */
  explain(addr: string, note = 0): Explained | undefined {
    const rows = this.ring;
    const slot = note > 0 && note <= RECENT && rows.isHelloOf(note - 1, addr) ? note - 1 : this.latestHelloOf(addr);
    if (slot < 0) return undefined;
    const d = rows.read(slot);
    const o = rows.extraNum(slot);
    const shape = rows.refs[rows.extraRef(slot)] as Shape;
    const dyn = readDynamic(rows.nums, o);
    const helloBytes = rows.nums[o + HELLO_BYTES]!;
    const raw = rows.nums[o + RAW]!;
    const v = new Float64Array(VECTOR_SIZE);
    writeVector(shape, dyn, helloBytes, v);
    return {
      ...view(d),
      features: describeFeatures(shape, dyn, helloBytes),
      vector: Object.fromEntries(VECTOR_NAMES.map((n, i) => [n, round3(v[i]!)])),
      forest: Number.isNaN(raw) ? null : { raw: round3(raw), calibrated: round3(rows.nums[o + CALIBRATED]!) },
    };
  }
}
