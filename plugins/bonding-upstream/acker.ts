// The receiver's side of reliability: which of the peer's reliable frames arrived, and when to
// say so. Acks are cumulative + selective and batched — not one per frame: after ACK_FRAMES
// frames or ACK_BYTES bytes, or ACK_DELAY_MS after the first unacked one.
import { ackFrame } from './frames.ts';
import { SeqTracker } from './seq-tracker.ts';

// Small enough that a path's cap (a few RTTs of data) is never mostly "delivered, not yet acked".
const ACK_FRAMES = 8;
const ACK_BYTES = 64 * 1024;
const ACK_DELAY_MS = 2;

export class Acker {
  private readonly seen = new SeqTracker();
  private readonly send: (frame: Buffer) => void;
  private frames = 0;
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(send: (frame: Buffer) => void) {
    this.send = send;
  }

  /** A reliable frame arrived; false when it is a duplicate (to be acked, not processed). */
  received(seq: number, bytes: number): boolean {
    const fresh = this.seen.add(seq);
    this.frames++;
    this.bytes += bytes;
    if (this.frames >= ACK_FRAMES || this.bytes >= ACK_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), ACK_DELAY_MS);
    return fresh;
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.frames = 0;
    this.bytes = 0;
    this.send(ackFrame(this.seen.next, this.seen.ackRanges()));
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
