// The session protocol's frames. Every frame is `type u8 | length u24 | body`, so a byte-stream
// channel (TLS over TCP) can cut them apart and a datagram channel can carry one per datagram.
// Reliable frames (everything but ACK, PING, PONG and the hello exchange) start their body with
// a 48-bit session sequence number: the sender keeps them until that number is acked, and
// resends them with the same number, so the receiver can drop duplicates by number alone.

export const T = {
  HELLO: 1,
  WELCOME: 2,
  REFUSE: 3,
  DATA: 4,
  FIN: 5, // DATA that ends the stream's direction
  OPEN: 6,
  OPENED: 7,
  RESET: 8,
  WINDOW: 9,
  ACK: 10,
  PING: 11,
  PONG: 12,
  SETTINGS: 13, // the edge's bonding policy (mode, weights, drains), JSON
} as const;

export const HEADER = 4;
/** seq u48 + stream u32 + offset u48 */
export const DATA_PREFIX = 16;
/** Hello, welcome and refuse carry small JSON; anything bigger is an attack or a bug. */
export const MAX_HELLO = 4096;
export const MAX_ACK_RANGES = 32;

export function isReliable(type: number): boolean {
  return (type >= T.DATA && type <= T.WINDOW) || type === T.SETTINGS;
}

/** A frame read from a channel. `payload` is a view into the received bytes (DATA/FIN only). */
export interface InFrame {
  readonly type: number;
  readonly body: Buffer;
}

function head(type: number, bodyLength: number, extra: number): Buffer {
  const b = Buffer.allocUnsafe(HEADER + extra);
  b.writeUInt8(type, 0);
  b.writeUIntBE(bodyLength, 1, 3);
  return b;
}

/** Header and fixed part of a DATA/FIN frame; the payload travels as its own buffer (no copy). */
export function dataHead(fin: boolean, seq: number, stream: number, offset: number, length: number): Buffer {
  const b = head(fin ? T.FIN : T.DATA, DATA_PREFIX + length, DATA_PREFIX);
  b.writeUIntBE(seq, 4, 6);
  b.writeUInt32BE(stream, 10);
  b.writeUIntBE(offset, 14, 6);
  return b;
}

export function openFrame(seq: number, stream: number, port: number, host: string): Buffer {
  const name = Buffer.from(host, 'utf8');
  const b = head(T.OPEN, 12 + name.length, 12 + name.length);
  b.writeUIntBE(seq, 4, 6);
  b.writeUInt32BE(stream, 10);
  b.writeUInt16BE(port, 14);
  name.copy(b, 16);
  return b;
}

export function openedFrame(seq: number, stream: number): Buffer {
  const b = head(T.OPENED, 10, 10);
  b.writeUIntBE(seq, 4, 6);
  b.writeUInt32BE(stream, 10);
  return b;
}

/** `finalSize`: bytes the sender had sent on the stream, so the receiver can settle session credit. */
export function resetFrame(seq: number, stream: number, finalSize: number, code: string): Buffer {
  const text = Buffer.from(code.slice(0, 200), 'utf8');
  const b = head(T.RESET, 16 + text.length, 16 + text.length);
  b.writeUIntBE(seq, 4, 6);
  b.writeUInt32BE(stream, 10);
  b.writeUIntBE(finalSize, 14, 6);
  text.copy(b, 20);
  return b;
}

/** Stream 0 = the whole session. `limit` is the highest offset (or session total) the peer may send to. */
export function windowFrame(seq: number, stream: number, limit: number): Buffer {
  const b = head(T.WINDOW, 16, 16);
  b.writeUIntBE(seq, 4, 6);
  b.writeUInt32BE(stream, 10);
  b.writeUIntBE(limit, 14, 6);
  return b;
}

/** `next`: every seq below it arrived; `ranges`: [from, to) runs above it that arrived too. */
export function ackFrame(next: number, ranges: ReadonlyArray<readonly [number, number]>): Buffer {
  const n = Math.min(ranges.length, MAX_ACK_RANGES);
  const b = head(T.ACK, 7 + 12 * n, 7 + 12 * n);
  b.writeUIntBE(next, 4, 6);
  b.writeUInt8(n, 10);
  for (let i = 0; i < n; i++) {
    b.writeUIntBE(ranges[i]![0], 11 + 12 * i, 6);
    b.writeUIntBE(ranges[i]![1], 17 + 12 * i, 6);
  }
  return b;
}

export function probeFrame(type: typeof T.PING | typeof T.PONG, id: number, sentAt: number): Buffer {
  const b = head(type, 12, 12);
  b.writeUInt32BE(id, 4);
  b.writeDoubleBE(sentAt, 8);
  return b;
}

export function settingsFrame(seq: number, value: unknown): Buffer {
  const text = Buffer.from(JSON.stringify(value), 'utf8');
  const b = head(T.SETTINGS, 6 + text.length, 6 + text.length);
  b.writeUIntBE(seq, 4, 6);
  text.copy(b, 10);
  return b;
}

export function jsonFrame(type: typeof T.HELLO | typeof T.WELCOME | typeof T.REFUSE, value: unknown): Buffer {
  const text = Buffer.from(JSON.stringify(value), 'utf8');
  const b = head(type, text.length, text.length);
  text.copy(b, 4);
  return b;
}

// ---- reading ---------------------------------------------------------------------------------

export class FrameError extends Error {
  readonly code = 'WEAVER_ERR_BOND_FRAME';
}

export function readSeq(body: Buffer): number {
  return body.readUIntBE(0, 6);
}

export function parseJson(body: Buffer): Record<string, unknown> {
  if (body.length > MAX_HELLO) throw new FrameError('hello too large');
  const v: unknown = JSON.parse(body.toString('utf8'));
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FrameError('hello is not an object');
  return v as Record<string, unknown>;
}

export function parseAck(body: Buffer): { next: number; ranges: Array<[number, number]> } {
  if (body.length < 7) throw new FrameError('short ACK');
  const n = body.readUInt8(6);
  if (n > MAX_ACK_RANGES || body.length < 7 + 12 * n) throw new FrameError('bad ACK');
  const ranges: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) ranges.push([body.readUIntBE(7 + 12 * i, 6), body.readUIntBE(13 + 12 * i, 6)]);
  return { next: body.readUIntBE(0, 6), ranges };
}

const MIN_BODY: Readonly<Record<number, number>> = {
  [T.DATA]: DATA_PREFIX,
  [T.FIN]: DATA_PREFIX,
  [T.OPEN]: 12,
  [T.OPENED]: 10,
  [T.RESET]: 16,
  [T.WINDOW]: 16,
  [T.ACK]: 7,
  [T.PING]: 12,
  [T.PONG]: 12,
  [T.SETTINGS]: 6,
};

/**
 * Cuts a byte stream into frames. A frame inside one received chunk is a view of it; only a
 * frame spread over several chunks is copied, once.
 */
export class FrameReader {
  private readonly maxBody: number;
  private parts: Buffer[] = [];
  private buffered = 0;
  /** Size of the frame being gathered across chunks, once its header is known. */
  private need = 0;

  constructor(maxBody: number) {
    this.maxBody = maxBody;
  }

  /** Calls `onFrame` for every complete frame; throws FrameError on a malformed stream. */
  push(chunk: Buffer, onFrame: (f: InFrame) => void): void {
    if (this.buffered > 0) {
      this.parts.push(chunk);
      this.buffered += chunk.length;
      if (this.need === 0) {
        if (this.buffered < HEADER) return;
        const start = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.buffered);
        this.parts = [start];
        this.need = HEADER + this.peekLength(start);
      }
      if (this.buffered < this.need) return;
      chunk = Buffer.concat(this.parts, this.buffered);
      this.parts = [];
      this.buffered = 0;
      this.need = 0;
    }
    let at = 0;
    while (chunk.length - at >= HEADER) {
      const length = this.peekLength(chunk, at);
      const end = at + HEADER + length;
      if (end > chunk.length) break;
      this.emit(chunk.readUInt8(at), chunk.subarray(at + HEADER, end), onFrame);
      at = end;
    }
    if (at < chunk.length) {
      const rest = chunk.subarray(at);
      this.parts = [rest];
      this.buffered = rest.length;
    }
  }

  private peekLength(b: Buffer, at = 0): number {
    const length = b.readUIntBE(at + 1, 3);
    if (length > this.maxBody) throw new FrameError(`frame of ${length} bytes exceeds ${this.maxBody}`);
    return length;
  }

  private emit(type: number, body: Buffer, onFrame: (f: InFrame) => void): void {
    if (type < T.HELLO || type > T.SETTINGS) throw new FrameError(`unknown frame type ${type}`);
    const min = MIN_BODY[type];
    if (min !== undefined && body.length < min) throw new FrameError(`short frame of type ${type}`);
    if ((type === T.HELLO || type === T.WELCOME || type === T.REFUSE || type === T.SETTINGS) && body.length > MAX_HELLO) throw new FrameError('hello too large');
    onFrame({ type, body });
  }
}
