// Feedback labels: a source address, a JA4 or a JA3 marked good (1) or bad (2) by an operator.
// A fingerprint's label is also an entry of the lists (so the verdict worked out per hello
// shape follows it at once).
import type { FingerprintLists } from './lists.ts';

export type Label = 0 | 1 | 2;
export type LabelKind = 'addr' | 'ja4' | 'ja3';

export class Labels {
  private readonly byKind: Record<LabelKind, Map<string, Label>> = { addr: new Map(), ja4: new Map(), ja3: new Map() };
  private readonly lists: FingerprintLists;

  constructor(lists: FingerprintLists) {
    this.lists = lists;
  }

  /** Labels held: with none (the usual case) a lookup reads this field and no Map. */
  private count = 0;

  get(kind: LabelKind, value: string): Label {
    return this.count === 0 ? 0 : (this.byKind[kind].get(value) ?? 0);
  }

  /** Sets a label (0 removes it). */
  set(kind: LabelKind, value: string, label: Label): void {
    const map = this.byKind[kind];
    this.count -= map.size;
    if (label === 0) map.delete(value);
    else map.set(value, label);
    this.count += map.size;
    if (kind === 'addr') return;
    this.lists.remove(value, 'good');
    this.lists.remove(value, 'bad');
    if (label !== 0) this.lists.add(value, label === 1 ? 'good' : 'bad', 'feedback');
  }
}
