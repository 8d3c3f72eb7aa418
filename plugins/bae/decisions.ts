// What the engine remembers of its decisions for the admin API: a ring of the latest ones, and
// per address the parts of its last handshake decision that explain it. Both are columns
// (decision-columns.ts), written from what the hot path already has (the decision, the shape,
// the per-connection features): objects, text and timestamps are made only when someone asks.
import { DecisionColumns, type Decision } from './decision-columns.ts';
import { describeFeatures, DYNAMIC_SIZE, readDynamic, VECTOR_NAMES, VECTOR_SIZE, writeDynamic, writeVector, type Dynamic } from './features.ts';
import { describe } from './scoring.ts';
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
  private readonly ring = new DecisionColumns(RECENT);
  private next = 0;
  private count = 0;
  /** Address → its slot in `explained` (an address keeps its slot until the slot is taken by a newer address). */
  private readonly slots = new Map<string, number>();
  private readonly owners = new Array<string | undefined>(EXPLAINED).fill(undefined);
  private nextSlot = 0;
  private readonly explained = new DecisionColumns(EXPLAINED);
  private readonly shapes = new Array<Shape | undefined>(EXPLAINED).fill(undefined);
  private readonly dynamic = new Float64Array(EXPLAINED * DYNAMIC_SIZE);
  /** Hello bytes, raw and calibrated forest score (NaN: none) per slot. */
  private readonly numbers = new Float64Array(EXPLAINED * 3);

  add(d: Decision): void {
    this.ring.write(this.next, d);
    this.next = (this.next + 1) % RECENT;
    if (this.count < RECENT) this.count++;
  }

  /** Keeps what explains `d`, the address's latest handshake decision. */
  keep(d: Decision, shape: Shape, dyn: Dynamic, helloBytes: number, raw: number | undefined, forest: number | undefined): void {
    let slot = this.slots.get(d.address);
    if (slot === undefined || this.owners[slot] !== d.address) {
      // The oldest slot goes to this address: among addresses, first in, first out.
      slot = this.nextSlot;
      this.nextSlot = (slot + 1) % EXPLAINED;
      const previous = this.owners[slot];
      if (previous !== undefined && this.slots.get(previous) === slot) this.slots.delete(previous);
      this.owners[slot] = d.address;
      this.slots.set(d.address, slot);
    }
    this.explained.write(slot, d);
    this.shapes[slot] = shape;
    writeDynamic(dyn, this.dynamic, slot * DYNAMIC_SIZE);
    this.numbers[slot * 3] = helloBytes;
    this.numbers[slot * 3 + 1] = raw ?? NaN;
    this.numbers[slot * 3 + 2] = forest ?? NaN;
  }

  /** The latest `limit` decisions, oldest first. */
  recent(limit: number): DecisionView[] {
    const n = Math.min(limit, this.count);
    const out: DecisionView[] = [];
    for (let k = n; k >= 1; k--) out.push(view(this.ring.read((this.next - k + RECENT) % RECENT)));
    return out;
  }

  explain(addr: string): Explained | undefined {
    const slot = this.slots.get(addr);
    if (slot === undefined || this.owners[slot] !== addr) return undefined;
    const shape = this.shapes[slot]!;
    const dyn = readDynamic(this.dynamic, slot * DYNAMIC_SIZE);
    const helloBytes = this.numbers[slot * 3]!;
    const raw = this.numbers[slot * 3 + 1]!;
    const v = new Float64Array(VECTOR_SIZE);
    writeVector(shape, dyn, helloBytes, v);
    return {
      ...view(this.explained.read(slot)),
      features: describeFeatures(shape, dyn, helloBytes),
      vector: Object.fromEntries(VECTOR_NAMES.map((n, i) => [n, round3(v[i]!)])),
      forest: Number.isNaN(raw) ? null : { raw: round3(raw), calibrated: round3(this.numbers[slot * 3 + 2]!) },
    };
  }
}
