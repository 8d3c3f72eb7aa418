// ClientHello parsing (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2). Untrusted input: every length is
// checked against its container, and anything off throws ClientHelloError MALFORMED.
import { ClientHelloError } from '../errors.ts';
import { ByteReader } from './byte-reader.ts';
import { decodeExtension, emptyDecodedExtensions } from './extensions.ts';
import { isGrease } from './grease.ts';
import { reassembleClientHello } from './records.ts';
import type { ClientHello, ClientHelloExtension } from './types.ts';

const HANDSHAKE_CLIENT_HELLO = 0x01;
const MAX_SESSION_ID = 32;

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
  const decoded = emptyDecodedExtensions();
  // Before TLS 1.2 (RFC 3546) the extensions block may be absent altogether.
  if (r.remaining > 0) {
    const block = r.vec16('extensions');
    r.done();
    const seen = new Set<number>();
    while (block.remaining > 0) {
      const extType = block.u16('extension type');
      const body = block.vec16(() => `extension 0x${extType.toString(16).padStart(4, '0')}`);
      // RFC 8446 §4.2: duplicates are an error. GREASE values may legitimately repeat.
      if (seen.has(extType) && !isGrease(extType)) {
        throw new ClientHelloError('WEAVER_ERR_HELLO_MALFORMED', `ClientHello: extension 0x${extType.toString(16).padStart(4, '0')} appears twice`);
      }
      seen.add(extType);
      extensions.push({ type: extType, data: body.buf.subarray(body.pos, body.end) });
      decodeExtension(extType, body, decoded);
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
    extensionTypes: extensions.map((e) => e.type),
    ...decoded,
    helloLength: 4 + bodyLength,
    raw: source.raw ?? message,
  };
}
