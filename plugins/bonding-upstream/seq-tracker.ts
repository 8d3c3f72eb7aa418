// What the receiver got of the peer's reliable frames, by sequence number: everything below
// `next`, plus sorted runs above it. Acks are built from it (cumulative + selective ranges) and
// duplicates (a frame resent after its channel stalled) are recognised by it.
import { FrameError, MAX_ACK_RANGES } from './frames.ts';

/** A peer that leaves more gaps than this is broken or hostile: the channel is closed. */
const MAX_GAPS = 4096;

export class SeqTracker {
  next = 0;
  /** [from, to) runs, sorted, disjoint, each starting above `next`. */
  readonly ranges: Array<[number, number]> = [];

  /** False when `seq` was seen before. */
  add(seq: number): boolean {
    if (seq < this.next) return false;
    const r = this.ranges;
    if (seq === this.next) {
      this.next++;
      if (r.length > 0 && r[0]![0] === this.next) this.next = r.shift()![1];
      return true;
    }
    // Find the first run that ends at or after seq; most arrivals touch the last run.
    let i = r.length;
    while (i > 0 && r[i - 1]![1] >= seq) i--;
    const run = r[i];
    if (run && seq >= run[0] && seq < run[1]) return false;
    if (run && run[0] === seq + 1) {
      run[0] = seq;
      const prev = r[i - 1];
      if (prev && prev[1] === seq) {
        prev[1] = run[1];
        r.splice(i, 1);
      }
      return true;
    }
    if (run && run[1] === seq) {
      run[1] = seq + 1;
      const after = r[i + 1];
      if (after && after[0] === seq + 1) {
        run[1] = after[1];
        r.splice(i + 1, 1);
      }
      return true;
    }
    if (r.length >= MAX_GAPS) throw new FrameError('too many gaps in the sequence');
    r.splice(i, 0, [seq, seq + 1]);
    return true;
  }

  /** The runs an ACK reports: the lowest ones, which are what the sender waits on. */
  ackRanges(): ReadonlyArray<readonly [number, number]> {
    return this.ranges.length <= MAX_ACK_RANGES ? this.ranges : this.ranges.slice(0, MAX_ACK_RANGES);
  }
}
