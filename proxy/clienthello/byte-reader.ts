// A bounds-checked cursor over untrusted bytes. Every read names the field it is after, so a
// malformed hello fails with a ClientHelloError saying what and where, never a RangeError.
// One reader walks a whole hello: entering a length-prefixed vector narrows it to that vector
// (a stack of scopes), instead of making a reader object per vector (some 25 per hello).
import { ClientHelloError } from '../errors.ts';

/** A field's name, or a function that makes it (only an error message needs it). */
export type FieldName = string | (() => string);

const MAX_DEPTH = 8;

const text = (f: FieldName): string => (typeof f === 'string' ? f : f());

export class ByteReader {
  readonly buf: Buffer;
  /** The end of the current scope. */
  end: number;
  pos: number;
  // The scopes' names are joined only when an error says what was being read.
  // Sized once for the deepest hello field (ClientHello body extensions extension list item).
  private readonly names = new Array<FieldName>(MAX_DEPTH);
  private readonly ends = new Array<number>(MAX_DEPTH);
  private depth = 1;
  /** Offsets in messages count from here (the message may sit inside the bytes received). */
  private readonly base: number;

  constructor(buf: Buffer, what: FieldName, start = 0, end = buf.length) {
    this.buf = buf;
    this.base = start;
    this.names[0] = what;
    this.pos = start;
    this.end = end;
  }

  /** What the current scope covers, for error messages (e.g. "ClientHello body extension 0x000a"). */
  get what(): string {
    return this.whatUpTo(this.depth);
  }

  private whatUpTo(depth: number): string {
    let s = text(this.names[0]!);
    for (let i = 1; i < depth; i++) s += ` ${text(this.names[i]!)}`;
    return s;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, field: FieldName, suffix: string): number {
    if (n > this.remaining) {
      throw new ClientHelloError(
        'WEAVER_ERR_HELLO_MALFORMED',
        `${this.what}: ${text(field)}${suffix} needs ${n} byte(s) at offset ${this.pos - this.base} but only ${this.remaining} remain`,
      );
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(field: FieldName, suffix = ''): number {
    return this.buf[this.need(1, field, suffix)]!;
  }

  u16(field: FieldName, suffix = ''): number {
    return this.buf.readUInt16BE(this.need(2, field, suffix));
  }

  u24(field: string): number {
    const at = this.need(3, field, '');
    return (this.buf[at]! << 16) | this.buf.readUInt16BE(at + 1);
  }

  /** Skips `n` bytes, returning where they start. */
  skip(n: number, field: string): number {
    return this.need(n, field, '');
  }

  /** Narrows the reader to the next `n` bytes until `leave()`. */
  enter(n: number, field: FieldName): void {
    const at = this.need(n, field, '');
    if (this.depth === MAX_DEPTH) throw new Error('ByteReader: scopes nested too deep'); // a bug, not bad input
    this.ends[this.depth] = this.end;
    this.names[this.depth++] = field;
    this.pos = at;
    this.end = at + n;
  }

  /** Enters a vector whose length prefix is 1 byte. */
  enter8(field: FieldName): void {
    this.enter(this.u8(field, ' length'), field);
  }

  /** Enters a vector whose length prefix is 2 bytes. */
  enter16(field: FieldName): void {
    this.enter(this.u16(field, ' length'), field);
  }

  /** Enters a vector (1- or 2-byte length prefix) that must fill the current scope exactly. */
  enterWhole(prefix: 1 | 2, field: FieldName): void {
    if (prefix === 1) this.enter8(field);
    else this.enter16(field);
    const outer = this.ends[this.depth - 1]!;
    if (this.end !== outer) throw this.trailing(this.depth - 1, outer - this.end, this.end);
  }

  /** Back to the enclosing scope, just past the one being left whatever was read of it. */
  leave(): void {
    this.pos = this.end;
    this.end = this.ends[--this.depth]!;
  }

  /** A list of 2-byte code points filling the current scope, e.g. cipher suites or groups. */
  u16List(field: string): number[] {
    if (this.remaining % 2 !== 0) {
      throw new ClientHelloError('WEAVER_ERR_HELLO_MALFORMED', `${this.what}: ${field} has odd length ${this.remaining}`);
    }
    // Sized once: a list grown by push is reallocated several times on the way (52 suites).
    const out = new Array<number>(this.remaining / 2);
    for (let i = 0; this.pos < this.end; this.pos += 2) out[i++] = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    return out;
  }

  u8List(): number[] {
    const out = new Array<number>(this.remaining);
    for (let i = 0; this.pos < this.end; this.pos++) out[i++] = this.buf[this.pos]!;
    return out;
  }

  /** Lengths that disagree with their container are malformed, not ignorable padding. */
  done(): void {
    if (this.remaining !== 0) throw this.trailing(this.depth, this.remaining, this.pos);
  }

  private trailing(depth: number, bytes: number, at: number): ClientHelloError {
    return new ClientHelloError('WEAVER_ERR_HELLO_MALFORMED', `${this.whatUpTo(depth)}: ${bytes} unexpected trailing byte(s) at offset ${at - this.base}`);
  }
}
