// A bounds-checked cursor over untrusted bytes. Every read names the field it is after, so a
// malformed hello fails with a ClientHelloError saying what and where, never a RangeError.
import { ClientHelloError } from '../errors.ts';

export class ByteReader {
  readonly buf: Buffer;
  readonly end: number;
  /** What this reader covers, for error messages (e.g. "extension 0x000a"). */
  readonly what: string;
  pos: number;

  constructor(buf: Buffer, what: string, start = 0, end = buf.length) {
    this.buf = buf;
    this.what = what;
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, field: string): number {
    if (n > this.remaining) {
      throw new ClientHelloError(
        'WEAVER_ERR_HELLO_MALFORMED',
        `${this.what}: ${field} needs ${n} byte(s) at offset ${this.pos} but only ${this.remaining} remain`,
      );
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(field: string): number {
    return this.buf[this.need(1, field)]!;
  }

  u16(field: string): number {
    return this.buf.readUInt16BE(this.need(2, field));
  }

  u24(field: string): number {
    const at = this.need(3, field);
    return (this.buf[at]! << 16) | this.buf.readUInt16BE(at + 1);
  }

  bytes(n: number, field: string): Buffer {
    const at = this.need(n, field);
    return this.buf.subarray(at, at + n);
  }

  /** A sub-reader over a vector whose length prefix is 1 byte. */
  vec8(field: string): ByteReader {
    return this.sub(this.u8(`${field} length`), field);
  }

  /** A sub-reader over a vector whose length prefix is 2 bytes. */
  vec16(field: string): ByteReader {
    return this.sub(this.u16(`${field} length`), field);
  }

  sub(n: number, field: string): ByteReader {
    const at = this.need(n, field);
    return new ByteReader(this.buf, `${this.what} ${field}`, at, at + n);
  }

  /** A list of 2-byte code points filling this reader, e.g. cipher suites or groups. */
  u16List(field: string): number[] {
    if (this.remaining % 2 !== 0) {
      throw new ClientHelloError(
        'WEAVER_ERR_HELLO_MALFORMED',
        `${this.what}: ${field} has odd length ${this.remaining}`,
      );
    }
    const out: number[] = [];
    while (this.remaining > 0) out.push(this.u16(field));
    return out;
  }

  u8List(field: string): number[] {
    const out: number[] = [];
    while (this.remaining > 0) out.push(this.u8(field));
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
