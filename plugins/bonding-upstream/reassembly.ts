// One stream direction's receive side: frames arrive in any order over any channel; bytes leave
// in order. Frames are never re-cut when resent, so a resent frame has the same offset as the
// original and is recognised by it.
export class Reassembly {
  /** Bytes handed on in order so far. */
  delivered = 0;
  /** Offset after the last byte, once the FIN arrived. */
  finalSize: number | undefined;
  /** Bytes held out of order. */
  pendingBytes = 0;
  private readonly pending = new Map<number, Buffer>();

  /** Bytes this frame adds that were never seen before (for session credit), or -1 past `limit`. */
  insert(offset: number, data: Buffer, fin: boolean, limit: number, deliver: (b: Buffer) => void): number {
    const end = offset + data.length;
    if (end > limit) return -1;
    if (fin) this.finalSize ??= end;
    if (end <= this.delivered || this.pending.has(offset)) return 0;
    if (offset > this.delivered) {
      this.pending.set(offset, data);
      this.pendingBytes += data.length;
      return data.length;
    }
    const fresh = end - this.delivered;
    const first = offset === this.delivered ? data : data.subarray(this.delivered - offset);
    // `delivered` moves before each hand-off: a reader that reads inside it sees the right offset.
    this.delivered = end;
    deliver(first);
    for (let next = this.pending.get(end); next !== undefined; next = this.pending.get(this.delivered)) {
      this.pending.delete(this.delivered);
      this.pendingBytes -= next.length;
      this.delivered += next.length;
      if (next.length > 0) deliver(next);
    }
    return fresh;
  }

  get complete(): boolean {
    return this.finalSize !== undefined && this.delivered >= this.finalSize;
  }

  clear(): void {
    this.pending.clear();
    this.pendingBytes = 0;
  }
}
