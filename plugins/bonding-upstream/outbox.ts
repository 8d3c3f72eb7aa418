// The sender's side of reliability: every reliable frame by sequence number until an ack
// covers it, which path carries it, and the queue of frames to send again (their path died or
// stalled, or no path was up when they were made). A resend keeps its sequence number.
import { FrameError } from './frames.ts';
import type { OutFrame, Path } from './path.ts';

export class Outbox {
  private seqOut = 0;
  /** Every seq below this is acked. */
  private lowest = 0;
  private readonly unacked = new Map<number, OutFrame>();
  private resend: OutFrame[] = [];

  nextSeq(): number {
    return this.seqOut++;
  }

  /** A new frame: sent on `path` now, or queued until one is usable. */
  add(seq: number, head: Buffer, payload: Buffer | undefined, data: number, path: Path | undefined, owner?: OutFrame['owner']): void {
    const f: OutFrame = { seq, head, payload, size: head.length + (payload?.length ?? 0), data, path: undefined, sentAt: 0, queued: false, acked: false, sends: 0, owner };
    const now = performance.now();
    if (owner) {
      owner.unacked++;
      owner.movedAt = now;
    }
    this.unacked.set(seq, f);
    if (path) this.transmit(f, path, now);
    else this.requeue([f]);
  }

  transmit(f: OutFrame, p: Path, now = performance.now()): void {
    f.sentAt = now;
    f.sends++;
    if (f.sends > 1) p.retransmittedBytes += f.size;
    p.sentBytes += f.size;
    p.addFrame(f, now);
    p.channel!.send(f.head, f.payload);
  }

  requeue(frames: readonly OutFrame[]): void {
    let added = false;
    for (const f of frames) {
      if (f.acked || f.queued) continue;
      f.queued = true;
      this.resend.push(f);
      added = true;
    }
    // Oldest first: the receiver's reassembly waits on the lowest offsets.
    if (added) this.resend.sort((a, b) => a.seq - b.seq);
  }

  /** The next frame to send again, without taking it. */
  nextResend(): OutFrame | undefined {
    while (this.resend.length > 0 && this.resend[0]!.acked) this.resend.shift();
    return this.resend[0];
  }

  takeResend(): OutFrame {
    const f = this.resend.shift()!;
    f.queued = false;
    return f;
  }

  get resendLength(): number {
    return this.resend.length;
  }

  /** An ACK: everything below `next`, and each [from, to) range. */
  ack(next: number, ranges: ReadonlyArray<readonly [number, number]>, now: number): void {
    if (next > this.seqOut) throw new FrameError('ack of a frame never sent');
    while (this.lowest < next) this.ackOne(this.lowest++, now);
    for (const [from, to] of ranges) {
      for (let seq = Math.max(from, this.lowest), end = Math.min(to, this.seqOut); seq < end; seq++) this.ackOne(seq, now);
    }
  }

  get frames(): number {
    return this.unacked.size;
  }

  /** Stream bytes sent and not yet acked. */
  get dataBytes(): number {
    let n = 0;
    for (const f of this.unacked.values()) n += f.data;
    return n;
  }

  clear(): void {
    this.unacked.clear();
    this.resend = [];
  }

  private ackOne(seq: number, now: number): void {
    const f = this.unacked.get(seq);
    if (!f) return;
    this.unacked.delete(seq);
    f.acked = true;
    f.path?.acked(f, now);
    if (f.owner) {
      f.owner.unacked--;
      f.owner.movedAt = now;
    }
  }
}
