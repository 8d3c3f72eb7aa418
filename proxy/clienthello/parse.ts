// ClientHello parsing (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2). Untrusted input: every length is
// checked against its container, and anything off throws ClientHelloError MALFORMED.
import { ClientHelloError } from '../errors.ts';
import { ByteReader } from './byte-reader.ts';
import { decodeExtension, emptyDecodedExtensions, EXT } from './extensions.ts';
import { isGrease } from './grease.ts';
import { reassembleClientHello } from './records.ts';
import type { ClientHello, ClientHelloExtension } from './types.ts';

const HANDSHAKE_CLIENT_HELLO = 0x01;
const MAX_SESSION_ID = 32;

// Parsing allocates per hello on every connection a plugin looks at, so the extension loop
// makes no closure, reader or Set per extension: duplicates are found in one bitmap of the
// 2^16 extension types (parsing is synchronous; the bits set are cleared before returning).
const seenTypes = new Uint8Array(8192);
const extensionName = (type: number): string => `extension 0x${type.toString(16).padStart(4, '0')}`;
const DECODED_NAMES = new Map<number, string>(Object.values(EXT).map((type) => [type, extensionName(type)]));

/** An extension's body is cut out of the hello when someone reads it, not for every hello. */
class RawExtension implements ClientHelloExtension {
  readonly type: number;
  private readonly source: Buffer;
  private readonly start: number;
  private readonly end: number;
  private body: Buffer | undefined;

  constructor(type: number, source: Buffer, start: number, end: number) {
    this.type = type;
    this.source = source;
    this.start = start;
    this.end = end;
  }

  get data(): Buffer {
    return (this.body ??= this.source.subarray(this.start, this.end));
  }

  /** Serialises as the plain `{ type, data }` it stands for. */
  toJSON(): ClientHelloExtension {
    return { type: this.type, data: this.data };
  }
}

export interface HelloSource {
  /** 'tcp' unless the message came out of QUIC CRYPTO frames. */
  transport?: 'tcp' | 'quic';
  /** Version in the first TLS record header; 0 where there are no records (QUIC). */
  recordVersion?: number;
  /** The bytes as received, kept on the result; defaults to the message itself. */
  raw?: Buffer;
}

/** Parses a ClientHello from every byte received on a TCP connection, first record header on. */
export function parseClientHello(raw: Buffer): ClientHello {
  const { message } = reassembleClientHello(raw);
  return parseClientHelloBody(message, { transport: 'tcp', recordVersion: raw.readUInt16BE(1), raw });
}

/** Parses a bare ClientHello handshake message (4-byte handshake header included). */
export function parseClientHelloBody(message: Buffer, source: HelloSource = {}): ClientHello {
  const top = new ByteReader(message, 'ClientHello');
  const type = top.u8('handshake type');
  if (type !== HANDSHAKE_CLIENT_HELLO) {
    throw new ClientHelloError('WEAVER_ERR_HELLO_MALFORMED', `handshake type is ${type}, not client_hello (1)`);
  }
  const bodyLength = top.u24('handshake length');
  if (bodyLength > top.remaining) {
    throw new ClientHelloError(
      'WEAVER_ERR_HELLO_TRUNCATED',
      `ClientHello declares ${bodyLength} body bytes but only ${top.remaining} are present`,
    );
  }
  const r = top.sub(bodyLength, 'body');

  const helloVersion = r.u16('legacy_version');
  const random = r.bytes(32, 'random');
  const sessionIdLength = r.u8('legacy_session_id length');
  if (sessionIdLength > MAX_SESSION_ID) {
    throw new ClientHelloError('WEAVER_ERR_HELLO_MALFORMED', `ClientHello: session id length ${sessionIdLength} exceeds 32`);
  }
  const sessionId = r.bytes(sessionIdLength, 'legacy_session_id');
  // Empty cipher and compression lists are invalid TLS but are still fingerprinted (JA4 gives
  // them `000000000000`); the TLS stack after us rejects the connection itself.
  const ciphers = r.vec16('cipher_suites').u16List('cipher suite');
  const compressionMethods = r.vec8('legacy_compression_methods').u8List();

  const extensions: ClientHelloExtension[] = [];
  const extensionTypes: number[] = [];
  const decoded = emptyDecodedExtensions();
  // Before TLS 1.2 (RFC 3546) the extensions block may be absent altogether.
  if (r.remaining > 0) {
    const block = r.vec16('extensions');
    r.done();
    try {
      while (block.remaining > 0) {
        const extType = block.u16('extension type');
        const length = block.remaining >= 2 ? block.buf.readUInt16BE(block.pos) : -1;
        if (length < 0 || length > block.remaining - 2) block.vec16(extensionName(extType)); // throws, saying what and where
        const start = block.pos + 2;
        const end = start + length;
        block.pos = end;
        // RFC 8446 §4.2: duplicates are an error. GREASE values may legitimately repeat.
        const bit = 1 << (extType & 7);
        if (seenTypes[extType >> 3]! & bit && !isGrease(extType)) {
          throw new ClientHelloError('WEAVER_ERR_HELLO_MALFORMED', `ClientHello: ${extensionName(extType)} appears twice`);
        }
        extensionTypes.push(extType); // first, so the `finally` below clears its bit whatever happens
        seenTypes[extType >> 3]! |= bit;
        extensions.push(new RawExtension(extType, block.buf, start, end));
        // Only the extensions decoded below need a reader of their own.
        const name = DECODED_NAMES.get(extType);
        if (name) decodeExtension(extType, new ByteReader(block.buf, name, start, end, block), decoded);
      }
    } finally {
      for (let i = 0; i < extensionTypes.length; i++) seenTypes[extensionTypes[i]! >> 3] = 0;
    }
  }

  return {
    transport: source.transport ?? 'tcp',
    recordVersion: source.recordVersion ?? 0,
    helloVersion,
    random,
    sessionId,
    ciphers,
    compressionMethods,
    extensions,
    extensionTypes,
    supportedVersions: decoded.supportedVersions,
    supportedGroups: decoded.supportedGroups,
    ecPointFormats: decoded.ecPointFormats,
    signatureAlgorithms: decoded.signatureAlgorithms,
    alpn: decoded.alpn,
    sni: decoded.sni,
    keyShares: decoded.keyShares,
    pskKeyExchangeModes: decoded.pskKeyExchangeModes,
    paddingLength: decoded.paddingLength,
    helloLength: 4 + bodyLength,
    raw: source.raw ?? message,
  };
}
