// One upstream connection carried by a session, as a Duplex that looks enough like a socket for
// undici (or for piping to a TCP socket at the endpoint). Writes queue here until the session
// sends them; a full queue holds the write callback back, so backpressure reaches the writer.
// Reads come in order from the reassembly; credit goes back to the peer only as the reader takes
// bytes, so a slow reader bounds what the peer may send.
import { Duplex } from 'node:stream';
import { Reassembly } from './reassembly.ts';

export interface StreamOwner {
  /** The stream has bytes (or its end) to send. */
  wake(s: BondStream): void;
  /** The reader took bytes: credit may go back to the peer. */
  consumed(s: BondStream): void;
  /** The stream is gone; `clean` when both directions ended normally. */
  streamClosed(s: BondStream, clean: boolean, reason: string): void;
}

export class StreamError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'StreamError';
    this.code = code;
  }
}

export class BondStream extends Duplex {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  private readonly owner: StreamOwner;
  private readonly sendBuffer: number;

  // ---- send side
  private readonly queue: Buffer[] = [];
  queuedBytes = 0;
  /** Next stream offset to send. */
  sentOffset = 0;
  /** The peer's credit: it accepts bytes below this offset. */
  peerLimit: number;
  private ending = false;
  finSent = false;
  /** Its DATA/FIN frames not acked yet. */
  unacked = 0;
  /** performance.now() of its last progress: a frame sent or acked, new bytes received. */
  movedAt = performance.now();
  private writeWaiting: (() => void) | undefined;
  private finalWaiting: ((err?: Error | null) => void) | undefined;

  // ---- receive side
  readonly rx = new Reassembly();
  /** Credit given to the peer (highest offset it may send to). */
  rxLimit: number;
  /** Fresh bytes received (session credit accounting). */
  rxFresh = 0;
  /** Bytes of rxFresh already returned to the session as consumed. */
  rxCounted = 0;
  private ended = false;
  /** The final size the peer's RESET gave, once it reset the stream. */
  peerReset: number | undefined;

  // ---- socket look-alike for undici
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress = '0.0.0.0';
  readonly localPort = 0;
  readonly alpnProtocol = false;

  constructor(id: number, host: string, port: number, owner: StreamOwner, peerWindow: number, ownWindow: number, sendBuffer: number) {
    super({ allowHalfOpen: true, readableHighWaterMark: 65_536, writableHighWaterMark: 65_536, decodeStrings: true });
    this.id = id;
    this.host = host;
    this.port = port;
    this.owner = owner;
    this.peerLimit = peerWindow;
    this.rxLimit = ownWindow;
    this.sendBuffer = sendBuffer;
    this.remoteAddress = host;
    this.remotePort = port;
  }

  // ---- called by the session

  /** Bytes (≤ max) the session may frame now, or undefined when there is nothing it may send. */
  takeFrame(max: number): { payload: Buffer | undefined; offset: number; fin: boolean } | undefined {
    const credit = this.peerLimit - this.sentOffset;
    const head = this.queue[0];
    if (head !== undefined && credit > 0 && max > 0) {
      const n = Math.min(head.length, max, credit);
      const payload = n === head.length ? head : head.subarray(0, n);
      if (n === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(n);
      this.queuedBytes -= n;
      const offset = this.sentOffset;
      this.sentOffset += n;
      const fin = this.ending && this.queuedBytes === 0;
      if (fin) this.finishSend();
      this.release();
      return { payload, offset, fin };
    }
    if (head === undefined && this.ending && !this.finSent) {
      this.finishSend();
      return { payload: undefined, offset: this.sentOffset, fin: true };
    }
    return undefined;
  }

  /** It has bytes (or its end) to send, or sent ones not acked: it waits on the session. */
  get waiting(): boolean {
    return this.unacked > 0 || this.queuedBytes > 0 || (this.ending && !this.finSent);
  }

  /** ms it has waited without progress: the clock runs only while it waits, less `blocked`. */
  stuckFor(now: number, blocked: number): number {
    if (this.waiting) this.movedAt += blocked;
    else this.movedAt = now;
    return now - this.movedAt;
  }

  get hasWork(): boolean {
    return (this.queuedBytes > 0 && this.peerLimit > this.sentOffset) || (this.ending && !this.finSent && this.queuedBytes === 0);
  }

  /** In-order bytes from the reassembly (bound once: it is handed over for every DATA frame). */
  readonly deliver = (b: Buffer): void => {
    this.push(b);
  };

  /** The peer's FIN was reached: no more bytes will come. */
  endReceive(): void {
    if (this.ended) return;
    this.ended = true;
    this.push(null);
  }

  /** Bytes the local reader has taken: what was delivered minus what still waits in the buffer. */
  get consumedOffset(): number {
    return this.rx.delivered - this.readableLength;
  }

  // ---- Duplex

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.enqueue(chunk);
    this.afterEnqueue(cb);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    for (const c of chunks) this.enqueue(c.chunk);
    this.afterEnqueue(cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.ending = true;
    this.finalWaiting = cb;
    this.owner.wake(this);
  }

  override _read(): void {
    this.owner.consumed(this);
  }

  /**
   * Every consumer, paused (undici) or flowing (pipe), takes bytes through read(); _read alone
   * is not enough, since Readable stops calling it while a previous call has not been answered
   * by a push, and credit is what brings the next push.
   */
  override read(size?: number): Buffer | null {
    const chunk = super.read(size) as Buffer | null;
    if (chunk !== null) this.owner.consumed(this);
    return chunk;
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const clean = err === null && this.finSent && this.ended && this.rx.complete;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.rx.clear();
    const waiting = this.writeWaiting;
    this.writeWaiting = undefined;
    waiting?.();
    this.owner.streamClosed(this, clean, err ? ((err as { code?: string }).code ?? err.message) : 'closed');
    cb(err);
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  setTimeout(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  address(): { address: string; family: string; port: number } {
    return { address: this.localAddress, family: 'IPv4', port: this.localPort };
  }

  private enqueue(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
  }

  private afterEnqueue(cb: () => void): void {
    if (this.queuedBytes < this.sendBuffer) cb();
    else this.writeWaiting = cb;
    this.owner.wake(this);
  }

  private release(): void {
    if (this.writeWaiting !== undefined && this.queuedBytes < this.sendBuffer) {
      const cb = this.writeWaiting;
      this.writeWaiting = undefined;
      cb();
    }
  }

  private finishSend(): void {
    this.finSent = true;
    const cb = this.finalWaiting;
    this.finalWaiting = undefined;
    // After the current frame is handed to a channel, not before.
    if (cb) queueMicrotask(() => cb());
  }
}
