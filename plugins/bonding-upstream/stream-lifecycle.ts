// How a stream begins and ends between the two sides. The edge numbers it and sends OPEN; the
// endpoint answers OPENED once the destination is connected, or refuses it with a RESET. A side
// that resets a stream (an error, or no progress for stallTimeoutMs) says how much it sent on
// it, and so does the other side's answer, so each can settle the session credit of bytes it
// will now never read. A RESET can overtake its OPEN (another path was faster): the endpoint
// then ignores that OPEN when it comes.
import { BondStream, StreamError, type StreamOwner } from './bond-stream.ts';
import * as F from './frames.ts';
import type { SessionCredit } from './session-credit.ts';

/** Bytes a stream may queue before its writer waits. */
const SEND_BUFFER = 256 * 1024;
/** Bounds the ids of streams reset before their OPEN arrived. */
const MAX_EARLY_RESETS = 1024;

export interface LifecycleHost {
  readonly role: 'edge' | 'endpoint';
  readonly maxStreams: number;
  readonly streamWindow: number;
  readonly streams: Map<number, BondStream>;
  readonly credit: SessionCredit;
  /** Told of the streams' sends, reads and ends. */
  readonly owner: StreamOwner;
  control(build: (seq: number) => Buffer): void;
  /** Endpoint: the peer opened a stream; answer with accept() or refuse(). */
  readonly open: ((s: BondStream) => void) | undefined;
  /** A stream was reset for making no progress. */
  readonly stalled: ((s: BondStream, idleMs: number) => void) | undefined;
}

export class StreamLifecycle {
  private readonly host: LifecycleHost;
  private nextStream = 1;
  private readonly waiting = new Map<number, { resolve: (s: BondStream) => void; reject: (e: Error) => void }>();
  private readonly resetBeforeOpen = new Set<number>();
  /** Streams reset for making no progress. */
  stalledStreams = 0;

  constructor(host: LifecycleHost) {
    this.host = host;
  }

  /**
   * Edge: a new stream to host:port at the far end; resolves once the endpoint connected it.
   * An abort (the pool stopped waiting) resets the stream, so no half-open stream is left.
   */
  open(host: string, port: number, signal?: AbortSignal): Promise<BondStream> {
    const id = this.nextStream++;
    const s = this.create(id, host, port);
    signal?.addEventListener('abort', () => this.waiting.has(id) && s.destroy(new StreamError('WEAVER_ERR_BOND_ABORTED', 'connect abandoned')), { once: true });
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.host.control((seq) => F.openFrame(seq, id, port, host));
    });
  }

  /** Endpoint: the stream's destination is connected. */
  accept(s: BondStream): void {
    if (this.host.streams.get(s.id) === s) this.host.control((seq) => F.openedFrame(seq, s.id));
  }

  /** Endpoint: the stream may not be opened (`code` reaches the edge). */
  refuse(s: BondStream, code: string): void {
    s.destroy(new StreamError('WEAVER_ERR_BOND_REFUSED', code));
  }

  /** Endpoint: the peer's OPEN. */
  onOpen(id: number, port: number, host: string): void {
    if (this.host.role !== 'endpoint' || this.host.streams.has(id)) return;
    if (this.resetBeforeOpen.delete(id)) return;
    const s = this.create(id, host, port);
    if (this.host.streams.size > this.host.maxStreams) return this.refuse(s, 'too_many_streams');
    if (!this.host.open) return this.refuse(s, 'not_allowed');
    this.host.open(s);
  }

  /** Edge: the peer's OPENED. */
  onOpened(id: number): void {
    const s = this.host.streams.get(id);
    const waiting = this.waiting.get(id);
    this.waiting.delete(id);
    if (s && waiting) waiting.resolve(s);
  }

  /**
   * Stream `s` (still in the table) is gone. `quiet` (both directions ended, or the session is
   * closing): its credit is settled here and the peer is not told.
   */
  closed(s: BondStream, quiet: boolean, reason: string): void {
    const { streams, credit } = this.host;
    streams.delete(s.id);
    credit.closed(s.id, s.sentOffset);
    const waiting = this.waiting.get(s.id);
    if (waiting) {
      this.waiting.delete(s.id);
      waiting.reject(new StreamError('WEAVER_ERR_BOND_REFUSED', reason));
    }
    if (quiet) return credit.consume(s.rxFresh - s.rxCounted);
    // The side that resets first waits for the peer's answer to learn the final size.
    const finalSize = s.sentOffset;
    if (s.peerReset === undefined) credit.awaitFinalSize(s.id, s.rxCounted);
    else credit.consume(s.peerReset - s.rxCounted);
    this.host.control((seq) => F.resetFrame(seq, s.id, finalSize, reason));
  }

  onReset(id: number, finalSize: number, code: string): void {
    const { streams, credit, role } = this.host;
    if (credit.settle(id, finalSize)) return;
    const s = streams.get(id);
    const sent = s ? undefined : credit.sentOn(id);
    if (sent !== undefined) {
      // Closed here (cleanly) while the peer reset it: the peer waits for what was sent on it
      // to settle its session credit.
      this.host.control((seq) => F.resetFrame(seq, id, sent, 'reset'));
      return;
    }
    if (!s) {
      // Reset before its OPEN arrived (another path was faster): the OPEN will be ignored, and
      // the edge hears the final size of a stream that never sent anything.
      if (role === 'endpoint' && this.resetBeforeOpen.size < MAX_EARLY_RESETS) {
        this.resetBeforeOpen.add(id);
        this.host.control((seq) => F.resetFrame(seq, id, 0, 'reset'));
      }
      return;
    }
    s.peerReset = finalSize;
    s.destroy(new StreamError('WEAVER_ERR_BOND_RESET', code || 'reset by peer'));
  }

  /** Streams with bytes to send or unacked that moved nothing for `limitMs` are reset. */
  resetStalled(now: number, blocked: number, limitMs: number): void {
    for (const s of [...this.host.streams.values()]) {
      const idle = Math.round(s.stuckFor(now, blocked));
      if (idle <= limitMs) continue;
      this.stalledStreams++;
      this.host.stalled?.(s, idle);
      s.destroy(new StreamError('WEAVER_ERR_BOND_STALLED', `stream ${s.id} made no progress for ${idle} ms`));
    }
  }

  private create(id: number, host: string, port: number): BondStream {
    const s = new BondStream(id, host, port, this.host.owner, this.host.credit.peerStreamWindow, this.host.streamWindow, SEND_BUFFER);
    // A stream's error is its user's business (undici, a pipe); unheard, it must not end the process.
    s.on('error', () => {});
    this.host.streams.set(id, s);
    return s;
  }
}
