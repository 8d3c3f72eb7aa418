// Session-level flow control, both ways. Sending: stream bytes may go out only below the peer's
// session limit. Receiving: the limit granted to the peer moves up as readers here take bytes
// (a WINDOW once a quarter of the window was read), so all streams together hold at most the
// session window. Bytes a reset stream will never read are settled with the final size the
// peer states in its RESET, so resets do not leak credit; a side that closed a stream still
// answers the peer's late RESET with what it sent on it.
/** Closed streams whose final size is kept for that answer. */
const CLOSED_KEPT = 4096;

export class SessionCredit {
  peerStreamWindow: number;
  private peerLimit: number;
  private sent = 0;
  private readonly window: number;
  private rxLimit: number;
  private received = 0;
  private consumed = 0;
  /** Streams reset here, waiting for the peer's final size: id → bytes already counted. */
  private readonly closing = new Map<number, number>();
  /** Streams closed here, oldest first: id → bytes this side sent on it. */
  private readonly closedSent = new Map<number, number>();
  private readonly announce: (limit: number) => void;

  constructor(window: number, announce: (limit: number) => void) {
    this.window = window;
    this.rxLimit = window;
    this.peerStreamWindow = window;
    this.peerLimit = window;
    this.announce = announce;
  }

  /** The peer's windows, from its hello (only before anything was sent). */
  setPeer(streamWindow: number, sessionWindow: number): void {
    if (this.sent > 0) return;
    this.peerStreamWindow = streamWindow;
    this.peerLimit = sessionWindow;
  }

  get available(): number {
    return this.peerLimit - this.sent;
  }

  spend(bytes: number): void {
    this.sent += bytes;
  }

  raise(limit: number): void {
    if (limit > this.peerLimit) this.peerLimit = limit;
  }

  /** New bytes arrived; false when they overrun the credit given. */
  receive(fresh: number): boolean {
    if (this.received + fresh > this.rxLimit) return false;
    this.received += fresh;
    return true;
  }

  /** Bytes read here (or dropped for good): credit goes back. */
  consume(bytes: number): void {
    this.consumed += bytes;
    if (this.consumed + this.window - this.rxLimit >= this.window / 4) {
      this.rxLimit = this.consumed + this.window;
      this.announce(this.rxLimit);
    }
  }

  /** We reset stream `id` after counting `counted` of its bytes; the peer will say how many it sent. */
  awaitFinalSize(id: number, counted: number): void {
    this.closing.set(id, counted);
  }

  closed(id: number, sent: number): void {
    this.closedSent.set(id, sent);
    if (this.closedSent.size > CLOSED_KEPT) this.closedSent.delete(this.closedSent.keys().next().value!);
  }

  /** What this side sent on stream `id`, closed here (once: the answer to the peer's RESET). */
  sentOn(id: number): number | undefined {
    const sent = this.closedSent.get(id);
    this.closedSent.delete(id);
    return sent;
  }

  /** The peer's RESET for a stream we reset: true when it was one (settled now). */
  settle(id: number, finalSize: number): boolean {
    const counted = this.closing.get(id);
    if (counted === undefined) return false;
    this.closing.delete(id);
    this.consume(Math.max(0, finalSize - counted));
    return true;
  }
}
