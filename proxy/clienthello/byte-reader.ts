// A bounds-checked cursor over untrusted bytes. Every read names the field it is after, so a
// malformed hello fails with a ClientHelloError saying what and where, never a RangeError.
import { ClientHelloError } from '../errors.ts';

/** A field's name, or a function that makes it (only an error message needs it). */
export type FieldName = string | (() => string);

const text = (f: FieldName): string => (typeof f === 'string' ? f : f());

export class ByteReader {
  readonly buf: Buffer;
  readonly end: number;
  pos: number;
  // What this reader covers is named only when an error says so: a reader over a field of
  // another keeps the two parts, not the joined string (one per field of every hello).
  private readonly name: FieldName;
  private readonly parent: ByteReader | undefined;

  constructor(buf: Buffer, what: FieldName, start = 0, end = buf.length, parent?: ByteReader) {
    this.buf = buf;
    this.name = what;
    this.parent = parent;
    this.pos = start;
    this.end = end;
  }

  /** What this reader covers, for error messages (e.g. "ClientHello body extension 0x000a"). */
  get what(): string {
    return this.parent ? `${this.parent.what} ${text(this.name)}` : text(this.name);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, field: FieldName, suffix: string): number {
    if (n > this.remaining) {
      throw new ClientHelloError(
        'WEAVER_ERR_HELLO_MALFORMED',
        `${this.what}: ${text(field)}${suffix} needs ${n} byte(s) at offset ${this.pos} but only ${this.remaining} remain`,
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

  bytes(n: number, field: string): Buffer {
    const at = this.need(n, field, '');
    return this.buf.subarray(at, at + n);
  }

  /** A sub-reader over a vector whose length prefix is 1 byte. */
  vec8(field: FieldName): ByteReader {
    return this.sub(this.u8(field, ' length'), field);
  }

  /** A sub-reader over a vector whose length prefix is 2 bytes. */
  vec16(field: FieldName): ByteReader {
    return this.sub(this.u16(field, ' length'), field);
  }

  sub(n: number, field: FieldName): ByteReader {
    const at = this.need(n, field, '');
    return new ByteReader(this.buf, field, at, at + n, this);
  }

  /** A list of 2-byte code points filling this reader, e.g. cipher suites or groups. */
  u16List(field: string): number[] {
    if (this.remaining % 2 !== 0) {
      throw new ClientHelloError(
        'WEAVER_ERR_HELLO_MALFORMED',
        `${this.what}: ${field} has odd length ${this.remaining}`,
      );
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
    if (this.remaining !== 0) {
      throw new ClientHelloError(
        'WEAVER_ERR_HELLO_MALFORMED',
        `${this.what}: ${this.remaining} unexpected trailing byte(s) at offset ${this.pos}`,
      );
    }
  }
}
