// TLS record framing for the first flight of a TCP connection. A ClientHello may be split over
// several handshake records (RFC 8446 §5.1, e.g. `openssl s_client -max_send_frag 512`) and those
// records over any number of TCP reads, so the reader asks after every read whether the whole
// handshake message is there yet, and gives up early on bytes that can never become a hello.
import { ClientHelloError } from '../errors.ts';

const RECORD_HEADER_BYTES = 5;
const HANDSHAKE_HEADER_BYTES = 4;
const CONTENT_TYPE_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
/** RFC 8446 §5.1: a plaintext record fragment is at most 2^14 bytes. */
const MAX_FRAGMENT = 16384;

export type HelloFraming =
  | { state: 'need-more' }
  | { state: 'complete'; records: number; helloLength: number; consumed: number };

export interface ReassembledHello {
  /** The ClientHello handshake message, its 4-byte header included. */
  message: Buffer;
  records: number;
  /** Bytes from the first record header to the end of the record that completed the hello. */
  consumed: number;
}

/**
 * Says whether `buf` (every byte received so far, from the first record header) holds a whole
 * ClientHello. Throws NOT_TLS, MALFORMED, or TOO_LARGE as soon as the bytes rule a hello out.
 */
export function frameClientHello(buf: Buffer, maxBytes: number): HelloFraming {
  const walked = walk(buf, maxBytes, false);
  if (!walked) return { state: 'need-more' };
  return { state: 'complete', records: walked.records, helloLength: walked.helloLength, consumed: walked.consumed };
}

/** Joins the record fragments into the handshake message. Throws TRUNCATED when incomplete. */
export function reassembleClientHello(buf: Buffer, maxBytes = Number.POSITIVE_INFINITY): ReassembledHello {
  const walked = walk(buf, maxBytes, true);
  if (!walked) {
    throw new ClientHelloError(
      'WEAVER_ERR_HELLO_TRUNCATED',
      `the ClientHello is incomplete: ${buf.length} byte(s) end before the hello does`,
    );
  }
  // One record (nearly every hello): the message is a view of it, not a copy.
  const message = walked.fragments.length === 1 ? walked.fragments[0]! : Buffer.concat(walked.fragments);
  return { message, records: walked.records, consumed: walked.consumed };
}

/**
 * Where the ClientHello message ends in `buf` when it lies whole in a well-formed first record
 * (nearly every hello): it starts at offset 5, and parsing it there copies and allocates nothing
 * for the framing. -1 otherwise, for reassembleClientHello to join or refuse.
 */
export function singleRecordHelloEnd(buf: Buffer): number {
  if (buf.length < RECORD_HEADER_BYTES + HANDSHAKE_HEADER_BYTES || buf[0] !== CONTENT_TYPE_HANDSHAKE) return -1;
  const length = buf.readUInt16BE(3);
  if (!plausibleRecordVersion(buf.readUInt16BE(1)) || length === 0 || length > MAX_FRAGMENT) return -1;
  if (buf.length < RECORD_HEADER_BYTES + length || buf[RECORD_HEADER_BYTES] !== HANDSHAKE_CLIENT_HELLO) return -1;
  const helloLength = HANDSHAKE_HEADER_BYTES + ((buf[6]! << 16) | buf.readUInt16BE(7));
  return helloLength <= length ? RECORD_HEADER_BYTES + helloLength : -1;
}

interface Walked {
  records: number;
  helloLength: number;
  consumed: number;
  fragments: Buffer[];
}

function walk(buf: Buffer, maxBytes: number, keep: boolean): Walked | undefined {
  checkFirstRecordStart(buf);
  const fragments: Buffer[] = [];
  const header: number[] = [];
  let off = 0;
  let records = 0;
  let gathered = 0; // handshake bytes taken from complete records so far
  let helloLength = -1; // known once the 4-byte handshake header has arrived

  for (;;) {
    if (buf.length - off < RECORD_HEADER_BYTES) {
      checkLaterRecordStart(buf, off, records);
      checkCap(buf, off, gathered, helloLength, maxBytes);
      return undefined;
    }
    const type = buf[off]!;
    const version = buf.readUInt16BE(off + 1);
    const length = buf.readUInt16BE(off + 3);
    const n = records + 1;
    if (type !== CONTENT_TYPE_HANDSHAKE) {
      throw malformed(`record ${n} has content type ${type} before the ClientHello is complete`);
    }
    if (!plausibleRecordVersion(version)) {
      throw malformed(`record ${n} has implausible version 0x${hex16(version)}`);
    }
    if (length === 0) throw malformed(`record ${n} is an empty handshake fragment`);
    if (length > MAX_FRAGMENT) throw malformed(`record ${n} claims ${length} bytes, over the ${MAX_FRAGMENT}-byte limit`);

    const start = off + RECORD_HEADER_BYTES;
    const available = Math.min(length, buf.length - start);
    // The handshake header may itself straddle records, so it is collected byte by byte.
    for (let i = 0; i < available && header.length < HANDSHAKE_HEADER_BYTES; i++) header.push(buf[start + i]!);
    if (helloLength < 0 && header.length === HANDSHAKE_HEADER_BYTES) helloLength = readHandshakeHeader(header);

    if (available < length) {
      checkCap(buf, start + available, gathered + available, helloLength, maxBytes, start + length);
      return undefined;
    }
    records++;
    off = start + length;
    if (keep) fragments.push(buf.subarray(start, off));
    gathered += length;
    if (helloLength >= 0 && gathered >= helloLength) {
      if (off > maxBytes) throw tooLarge(off, maxBytes);
      // A record may carry bytes past the hello; the message itself ends at helloLength.
      if (keep && gathered > helloLength) trimLast(fragments, gathered - helloLength);
      return { records, helloLength, consumed: off, fragments };
    }
  }
}

// Rejects on the very first bytes, so a plain-HTTP or random-bytes client fails after one read.
function checkFirstRecordStart(buf: Buffer): void {
  if (buf.length >= 1 && buf[0] !== CONTENT_TYPE_HANDSHAKE) {
    const what = looksLikeText(buf) ? ` (looks like text: ${JSON.stringify(buf.subarray(0, 16).toString('latin1'))})` : '';
    throw new ClientHelloError('WEAVER_ERR_HELLO_NOT_TLS', `first byte is 0x${hex8(buf[0]!)}, not a TLS handshake record${what}`);
  }
  if (buf.length >= 2 && buf[1] !== 0x03) {
    throw new ClientHelloError('WEAVER_ERR_HELLO_NOT_TLS', `record version major byte is 0x${hex8(buf[1]!)}, not 0x03`);
  }
  if (buf.length >= 3 && !plausibleRecordVersion(buf.readUInt16BE(1))) {
    throw new ClientHelloError('WEAVER_ERR_HELLO_NOT_TLS', `record version 0x${hex16(buf.readUInt16BE(1))} is not SSL 3.0 to TLS 1.3`);
  }
}

function checkLaterRecordStart(buf: Buffer, off: number, records: number): void {
  if (off === 0 || buf.length <= off) return;
  if (buf[off] !== CONTENT_TYPE_HANDSHAKE) {
    throw malformed(`record ${records + 1} has content type ${buf[off]} before the ClientHello is complete`);
  }
  if (buf.length >= off + 2 && buf[off + 1] !== 0x03) {
    throw malformed(`record ${records + 1} has implausible version major byte 0x${hex8(buf[off + 1]!)}`);
  }
}

/**
 * The least number of bytes the whole hello can still take: what is here, the rest of the
 * current record, the rest of the message, and a header for every further record it needs.
 * Over the cap means it can never fit, so there is no point waiting for it.
 */
function checkCap(
  buf: Buffer,
  off: number,
  gathered: number,
  helloLength: number,
  maxBytes: number,
  recordEnd = off,
): void {
  if (buf.length > maxBytes) throw tooLarge(buf.length, maxBytes);
  if (recordEnd > maxBytes) throw tooLarge(recordEnd, maxBytes);
  if (helloLength < 0) return;
  const missing = Math.max(0, helloLength - gathered);
  const beyond = Math.max(0, missing - (recordEnd - off));
  const least = Math.max(recordEnd, off + missing + Math.ceil(beyond / MAX_FRAGMENT) * RECORD_HEADER_BYTES);
  if (least > maxBytes) throw tooLarge(least, maxBytes);
}

function readHandshakeHeader(header: number[]): number {
  if (header[0] !== HANDSHAKE_CLIENT_HELLO) {
    throw malformed(`first handshake message has type ${header[0]}, not client_hello (1)`);
  }
  const bodyLength = (header[1]! << 16) | (header[2]! << 8) | header[3]!;
  return HANDSHAKE_HEADER_BYTES + bodyLength;
}

function trimLast(fragments: Buffer[], extra: number): void {
  const last = fragments[fragments.length - 1]!;
  fragments[fragments.length - 1] = last.subarray(0, last.length - extra);
}

/** SSL 3.0 (0x0300) to TLS 1.3 (0x0304); TLS 1.3 clients still put 0x0301 here. */
function plausibleRecordVersion(version: number): boolean {
  return version >= 0x0300 && version <= 0x0304;
}

function looksLikeText(buf: Buffer): boolean {
  const head = buf.subarray(0, 16);
  return head.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x0d || b === 0x0a || b === 0x09);
}

function malformed(message: string): ClientHelloError {
  return new ClientHelloError('WEAVER_ERR_HELLO_MALFORMED', message);
}

function tooLarge(bytes: number, maxBytes: number): ClientHelloError {
  return new ClientHelloError('WEAVER_ERR_HELLO_TOO_LARGE', `the ClientHello needs at least ${bytes} bytes, over the ${maxBytes}-byte cap`);
}

function hex8(v: number): string {
  return v.toString(16).padStart(2, '0');
}

function hex16(v: number): string {
  return v.toString(16).padStart(4, '0');
}
