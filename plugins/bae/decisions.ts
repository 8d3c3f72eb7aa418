// What the engine remembers of its decisions for the admin API: a ring of the latest ones, and
// per address the parts of its last handshake decision that explain it. Both are rows of flat
// arrays (decision-columns.ts), written from what the hot path already has (the decision, the shape,
// the per-connection features): objects, text and timestamps are made only when someone asks.
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

const RECENT = 5_000;
/** Addresses whose last handshake decision can be explained: at least the latest this many. */
const EXPLAINED = 10_000;

export function view(d: Decision): DecisionView {
  const { reasonCount: _n, ...rest } = d;
  return { ...rest, at: new Date(d.at).toISOString(), reasons: d.reasons.map(describe) };
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export class DecisionLog {
  private readonly ring = new DecisionRows(RECENT);
  private next = 0;
  private count = 0;
  private nextSlot = 0;
  /** The decision, then its per-connection features, hello bytes, raw and calibrated forest score (NaN: none); the shape. */
  private readonly explained = new DecisionRows(EXPLAINED, DYNAMIC_SIZE + 3, 1);

  add(d: Decision): void {
    this.ring.write(this.next, d);
    this.next = (this.next + 1) % RECENT;
    if (this.count < RECENT) this.count++;
  }

  /**
   * Keeps what explains `d`, the address's latest handshake decision. The address's profile
   * notes which row holds it (1 + row; 0 none): no lookup of its own, and an address keeps its
   * row until a newer address takes it (first in, first out among addresses).
   */
  keep(d: Decision, address: ProfileRow, shape: Shape, dyn: Dynamic, helloBytes: number, raw: number | undefined, forest: number | undefined): void {
    const rows = this.explained;
    let slot = this.own(address.note, d.address);
    if (slot < 0) {
      slot = this.nextSlot;
      this.nextSlot = (slot + 1) % EXPLAINED;
      address.note = slot + 1;
    }
    rows.write(slot, d);
    const o = rows.extraNum(slot);
    writeDynamic(dyn, rows.nums, o);
    rows.nums[o + DYNAMIC_SIZE] = helloBytes;
    rows.nums[o + DYNAMIC_SIZE + 1] = raw ?? NaN;
    rows.nums[o + DYNAMIC_SIZE + 2] = forest ?? NaN;
    rows.refs[rows.extraRef(slot)] = shape;
  }

  /** The row a profile's note points to, if `address`'s decision is still what it holds; -1 otherwise. */
  private own(note: number, address: string): number {
    const slot = note - 1;
    return slot >= 0 && slot < EXPLAINED && this.explained.refs[slot * this.explained.refStride + 1] === address ? slot : -1;
  }

  /** The latest `limit` decisions, oldest first. */
  recent(limit: number): DecisionView[] {
    const n = Math.min(limit, this.count);
    const out: DecisionView[] = [];
    for (let k = n; k >= 1; k--) out.push(view(this.ring.read((this.next - k + RECENT) % RECENT)));
    return out;
  }

  /** The last decision on `addr`, from the note on its profile. */
  explain(addr: string, note: number): Explained | undefined {
    const slot = this.own(note, addr);
    if (slot < 0) return undefined;
    const rows = this.explained;
    const o = rows.extraNum(slot);
    const shape = rows.refs[rows.extraRef(slot)] as Shape;
    const dyn = readDynamic(rows.nums, o);
    const helloBytes = rows.nums[o + DYNAMIC_SIZE]!;
    const raw = rows.nums[o + DYNAMIC_SIZE + 1]!;
    const v = new Float64Array(VECTOR_SIZE);
    writeVector(shape, dyn, helloBytes, v);
    return {
      ...view(rows.read(slot)),
      features: describeFeatures(shape, dyn, helloBytes),
      vector: Object.fromEntries(VECTOR_NAMES.map((n, i) => [n, round3(v[i]!)])),
      forest: Number.isNaN(raw) ? null : { raw: round3(raw), calibrated: round3(rows.nums[o + DYNAMIC_SIZE + 2]!) },
    };
  }
}
