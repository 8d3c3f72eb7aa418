// ClientHello parsing (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2). Untrusted input: every length is
// checked against its container, and anything off throws ClientHelloError MALFORMED.
import { ClientHelloError } from '../errors.ts';
import { ByteReader } from './byte-reader.ts';
import { forgetTypes, metBefore } from './extension-set.ts';
import { decodeExtension, EXT, type DecodedExtensions } from './extensions.ts';
import { isGrease } from './grease.ts';
import { extensionOrderOf, findTemplate, layout, remember, type FamilyMember, type HelloLayout, type HelloTemplate } from './hello-template.ts';
import { reassembleClientHello, singleRecordHelloEnd } from './records.ts';
import type { ClientHello, ClientHelloData, ClientHelloExtension, KeyShareEntry } from './types.ts';

const HANDSHAKE_CLIENT_HELLO = 0x01;
const MAX_SESSION_ID = 32;
const RANDOM_BYTES = 32;

// Parsing allocates per hello on every connection a plugin looks at, so it makes one reader per
// hello (see ByteReader) and no closure or Set per extension (duplicates: extension-set.ts).
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

// The lists of absent extensions are given their own empty array only once parsing is done:
// every hello from a modern stack has them all, and seven empty arrays made to be replaced add up.
const NONE: number[] = [];
const NO_NAMES: string[] = [];
const NO_SHARES: KeyShareEntry[] = [];

/** What a hello's lists decode to (the full parse's work). */
interface Lists extends DecodedExtensions {
  ciphers: number[];
  compressionMethods: number[];
  extensionTypes: number[];
}

function newLists(): Lists {
  return {
    ciphers: NONE, compressionMethods: NONE, extensionTypes: [], supportedVersions: NONE, supportedGroups: NONE, ecPointFormats: NONE,
    signatureAlgorithms: NONE, alpn: NO_NAMES, sni: undefined, keyShares: NO_SHARES, pskKeyExchangeModes: NONE, paddingLength: 0,
  };
}

/** Gives every list still unset an empty array of its own (the caller may change it). */
function finish(l: Lists): Lists {
  if (l.supportedVersions === NONE) l.supportedVersions = [];
  if (l.supportedGroups === NONE) l.supportedGroups = [];
  if (l.ecPointFormats === NONE) l.ecPointFormats = [];
  if (l.signatureAlgorithms === NONE) l.signatureAlgorithms = [];
  if (l.pskKeyExchangeModes === NONE) l.pskKeyExchangeModes = [];
  if (l.alpn === NO_NAMES) l.alpn = [];
  if (l.keyShares === NO_SHARES) l.keyShares = [];
  return l;
}

/**
 * The parsed hello. `random`, `sessionId` and `extensions` are cut out of the bytes when first
 * read: most plugins read the decoded fields only, and those three are some 20 objects a hello.
 * A hello of a known family (hello-template.ts) was checked by the family's first; its lists are
 * decoded when first read, by the same full parse, which most hellos then never need.
 */
class ParsedHello implements ClientHello, FamilyMember {
  readonly transport: 'tcp' | 'quic';
  readonly recordVersion: number;
  helloVersion = 0;
  paddingLength = 0;
  helloLength = 0;
  readonly raw: Buffer;
  // Where the lazy fields are; `#` keeps them out of keys, inspection and JSON.
  readonly #buf: Buffer;
  readonly #start: number;
  readonly #end: number;
  #lists: Lists | undefined;
  /** SNI and ALPN alone, for a family's hello read by routing before (or without) its lists. */
  #routing: Lists | undefined;
  #randomAt = 0;
  #sessionIdLength = 0;
  /** The extensions block, already checked; -1 when the hello has none. */
  #extensionsAt = -1;
  #extensionsEnd = -1;
  #random: Buffer | undefined;
  #sessionId: Buffer | undefined;
  #extensions: ClientHelloExtension[] | undefined;
  #template: HelloTemplate | undefined;
  #orderId = -1;
  declare ciphers: number[];
  declare compressionMethods: number[];
  declare extensionTypes: number[];
  declare supportedVersions: number[];
  declare supportedGroups: number[];
  declare ecPointFormats: number[];
  declare signatureAlgorithms: number[];
  declare keyShares: KeyShareEntry[];
  declare pskKeyExchangeModes: number[];

  constructor(buf: Buffer, start: number, end: number, source: HelloSource) {
    this.transport = source.transport ?? 'tcp';
    this.recordVersion = source.recordVersion ?? 0;
    this.raw = source.raw ?? buf;
    this.#buf = buf;
    this.#start = start;
    this.#end = end;
  }

  /** A hello of a known family, laid out as `at` says; its lists wait until someone reads them. */
  static of(template: HelloTemplate, at: HelloLayout, buf: Buffer, start: number, end: number, source: HelloSource): ParsedHello {
    const h = new ParsedHello(buf, start, end, source);
    h.#template = template;
    h.helloVersion = at.helloVersion;
    h.helloLength = at.helloLength;
    h.paddingLength = at.paddingLength;
    h.locate(at.randomAt, at.sessionIdLength, at.extensionsAt, at.extensionsEnd);
    return h;
  }

  /** The family of hellos this one belongs to (hello-template.ts), when it could be keyed. */
  get template(): HelloTemplate | undefined {
    return this.#template;
  }
  get orderId(): number {
    if (this.#orderId < 0) this.#orderId = extensionOrderOf(this.#buf, this.#extensionsAt, this.#extensionsEnd);
    return this.#orderId;
  }

  /** Makes this hello, just parsed in full, the first of a family. */
  found(template: HelloTemplate): void {
    this.#template = template;
  }

  locate(randomAt: number, sessionIdLength: number, extensionsAt: number, extensionsEnd: number): void {
    this.#randomAt = randomAt;
    this.#sessionIdLength = sessionIdLength;
    this.#extensionsAt = extensionsAt;
    this.#extensionsEnd = extensionsEnd;
  }

  /** The lists, decoded now if they were not. */
  lists(): Lists {
    if (this.#lists === undefined) {
      const l = readMessage(this.#buf, this.#start, this.#end, this);
      // What was handed out already stays the hello's own (a caller may have changed it).
      if (this.#routing) [l.sni, l.alpn] = [this.#routing.sni, this.#routing.alpn];
      this.#lists = l;
    }
    return this.#lists;
  }

  // SNI and ALPN are read by routing on every connection: of a family's hello, only those two
  // extensions are decoded, not the whole hello.
  get sni(): string | undefined {
    return (this.#lists ?? (this.#routing ??= this.#decodeRouting())).sni;
  }
  set sni(v: string | undefined) {
    this.lists().sni = v;
  }
  get alpn(): string[] {
    return (this.#lists ?? (this.#routing ??= this.#decodeRouting())).alpn;
  }
  set alpn(v: string[]) {
    this.lists().alpn = v;
  }

  /** server_name and ALPN of an already checked hello, decoded on their own (the other lists left unset). */
  #decodeRouting(): Lists {
    const l = newLists();
    const buf = this.#buf;
    for (let p = this.#extensionsAt; p >= 0 && p < this.#extensionsEnd; p += 4 + buf.readUInt16BE(p + 2)) {
      const type = buf.readUInt16BE(p);
      if (type === EXT.serverName || type === EXT.alpn) decodeExtension(type, new ByteReader(buf, 'ClientHello', p + 4, p + 4 + buf.readUInt16BE(p + 2)), l);
    }
    return finish(l);
  }

  get random(): Buffer {
    return (this.#random ??= this.#buf.subarray(this.#randomAt, this.#randomAt + RANDOM_BYTES));
  }

  get sessionId(): Buffer {
    const at = this.#randomAt + RANDOM_BYTES + 1;
    return (this.#sessionId ??= this.#buf.subarray(at, at + this.#sessionIdLength));
  }

  get extensions(): ClientHelloExtension[] {
    if (this.#extensions) return this.#extensions;
    const buf = this.#buf;
    const out: ClientHelloExtension[] = [];
    // Every length in the block was checked while parsing.
    for (let p = this.#extensionsAt; p >= 0 && p < this.#extensionsEnd; ) {
      const end = p + 4 + buf.readUInt16BE(p + 2);
      out.push(new RawExtension(buf.readUInt16BE(p), buf, p + 4, end));
      p = end;
    }
    return (this.#extensions = out);
  }

  extensionLength(type: number): number {
    const buf = this.#buf;
    for (let p = this.#extensionsAt; p >= 0 && p < this.#extensionsEnd; p += 4 + buf.readUInt16BE(p + 2)) {
      if (buf.readUInt16BE(p) === type) return buf.readUInt16BE(p + 2);
    }
    return -1;
  }

  /** The plain object it stands for (getters are not serialised on their own). */
  toJSON(): ClientHelloData {
    return {
      transport: this.transport,
      recordVersion: this.recordVersion,
      helloVersion: this.helloVersion,
      random: this.random,
      sessionId: this.sessionId,
      ciphers: this.ciphers,
      compressionMethods: this.compressionMethods,
      extensions: this.extensions,
      extensionTypes: this.extensionTypes,
      supportedVersions: this.supportedVersions,
      supportedGroups: this.supportedGroups,
      ecPointFormats: this.ecPointFormats,
      signatureAlgorithms: this.signatureAlgorithms,
      alpn: this.alpn,
      sni: this.sni,
      keyShares: this.keyShares,
      pskKeyExchangeModes: this.pskKeyExchangeModes,
      paddingLength: this.paddingLength,
      helloLength: this.helloLength,
      raw: this.raw,
    };
  }
}

// The other lists: read from (and written to) the decoded lists. `declare`d in the class so the
// type has them; defined here once rather than as eighteen near-identical accessors.
for (const name of ['ciphers', 'compressionMethods', 'extensionTypes', 'supportedVersions', 'supportedGroups', 'ecPointFormats', 'signatureAlgorithms', 'keyShares', 'pskKeyExchangeModes'] as const) {
  Object.defineProperty(ParsedHello.prototype, name, {
    get(this: ParsedHello) {
      return this.lists()[name];
    },
    set(this: ParsedHello, v: never) {
      this.lists()[name] = v;
    },
  });
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
  // Nearly every hello lies whole in its first record: parsed where it is, nothing joined or cut.
  const end = singleRecordHelloEnd(raw);
  if (end >= 0) return parseMessage(raw, 5, end, { transport: 'tcp', recordVersion: raw.readUInt16BE(1), raw });
  const { message } = reassembleClientHello(raw);
  return parseClientHelloBody(message, { transport: 'tcp', recordVersion: raw.readUInt16BE(1), raw });
}

/** Parses a bare ClientHello handshake message (4-byte handshake header included). */
export function parseClientHelloBody(message: Buffer, source: HelloSource = {}): ClientHello {
  return parseMessage(message, 0, message.length, source);
}

/** Parses the handshake message at buf[start, end): a hello of a known family in one walk, any other in full. */
function parseMessage(buf: Buffer, start: number, end: number, source: HelloSource): ClientHello {
  const template = findTemplate(buf, start, end, source.transport ?? 'tcp');
  if (template) return ParsedHello.of(template, layout, buf, start, end, source);
  const { key } = layout;
  const h = new ParsedHello(buf, start, end, source);
  h.lists();
  if (key !== 0) h.found(remember(key));
  return h;
}

/** The full parse: checks every length, sets where `h`'s parts are, and decodes its lists. */
function readMessage(buf: Buffer, start: number, end: number, h: ParsedHello): Lists {
  const r = new ByteReader(buf, 'ClientHello', start, end);
  const type = r.u8('handshake type');
  if (type !== HANDSHAKE_CLIENT_HELLO) {
    throw new ClientHelloError('WEAVER_ERR_HELLO_MALFORMED', `handshake type is ${type}, not client_hello (1)`);
  }
  const bodyLength = r.u24('handshake length');
  if (bodyLength > r.remaining) {
    throw new ClientHelloError(
      'WEAVER_ERR_HELLO_TRUNCATED',
      `ClientHello declares ${bodyLength} body bytes but only ${r.remaining} are present`,
    );
  }
  r.enter(bodyLength, 'body');
  const l = newLists();
  h.helloLength = 4 + bodyLength;
  h.helloVersion = r.u16('legacy_version');
  const randomAt = r.skip(RANDOM_BYTES, 'random');
  const sessionIdLength = r.u8('legacy_session_id length');
  if (sessionIdLength > MAX_SESSION_ID) {
    throw new ClientHelloError('WEAVER_ERR_HELLO_MALFORMED', `ClientHello: session id length ${sessionIdLength} exceeds 32`);
  }
  r.skip(sessionIdLength, 'legacy_session_id');
  // Empty cipher and compression lists are invalid TLS but are still fingerprinted (JA4 gives
  // them `000000000000`); the TLS stack after us rejects the connection itself.
  r.enter16('cipher_suites');
  l.ciphers = r.u16List('cipher suite');
  r.leave();
  r.enter8('legacy_compression_methods');
  l.compressionMethods = r.u8List();
  r.leave();

  // Before TLS 1.2 (RFC 3546) the extensions block may be absent altogether.
  if (r.remaining === 0) {
    h.locate(randomAt, sessionIdLength, -1, -1);
    return finish(l);
  }
  r.enterWhole(2, 'extensions');
  h.locate(randomAt, sessionIdLength, r.pos, r.end);
  const types = l.extensionTypes;
  try {
    while (r.remaining > 0) {
      const extType = r.u16('extension type');
      const length = r.remaining >= 2 ? buf.readUInt16BE(r.pos) : -1;
      if (length < 0 || length > r.remaining - 2) r.enter16(extensionName(extType)); // throws, saying what and where
      types.push(extType); // first, so the `finally` below clears its bit whatever happens
      // RFC 8446 §4.2: duplicates are an error. GREASE values may legitimately repeat.
      if (metBefore(extType) && !isGrease(extType)) {
        throw new ClientHelloError('WEAVER_ERR_HELLO_MALFORMED', `ClientHello: ${extensionName(extType)} appears twice`);
      }
      const name = DECODED_NAMES.get(extType);
      if (name === undefined) {
        r.pos += 2 + length;
        continue;
      }
      r.enter16(name);
      decodeExtension(extType, r, l);
      r.leave();
    }
  } finally {
    forgetTypes(types, types.length);
  }
  h.paddingLength = l.paddingLength;
  return finish(l);
}
