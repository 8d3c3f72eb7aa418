// Decoding of the ClientHello extensions that routing and fingerprints read. Each body must fill
// its extension exactly: a TLS library rejects a hello whose inner lengths disagree, and so do we.
import { ClientHelloError } from '../errors.ts';
import type { ByteReader } from './byte-reader.ts';
import type { ClientHello, KeyShareEntry } from './types.ts';

/** TLS extension codes Weaver reads (IANA "TLS ExtensionType Values"); public as TLS_EXTENSION. */
export const EXT = {
  serverName: 0x0000,
  supportedGroups: 0x000a,
  ecPointFormats: 0x000b,
  signatureAlgorithms: 0x000d,
  alpn: 0x0010,
  padding: 0x0015,
  compressCertificate: 0x001b,
  recordSizeLimit: 0x001c,
  delegatedCredentials: 0x0022,
  sessionTicket: 0x0023,
  preSharedKey: 0x0029,
  earlyData: 0x002a,
  supportedVersions: 0x002b,
  cookie: 0x002c,
  pskKeyExchangeModes: 0x002d,
  keyShare: 0x0033,
  quicTransportParameters: 0x0039,
  /** Chromium's application_settings (ALPS), old and new code. */
  alps: 0x4469,
  alpsNew: 0x44cd,
  encryptedClientHello: 0xfe0d,
  /** QUIC transport parameters as drafts before RFC 9000 numbered them. */
  quicTransportParametersDraft: 0xffa5,
} as const;

/** The ClientHello fields that come from decoding its extensions. */
export type DecodedExtensions = Pick<
  ClientHello,
  | 'supportedVersions'
  | 'supportedGroups'
  | 'ecPointFormats'
  | 'signatureAlgorithms'
  | 'alpn'
  | 'sni'
  | 'keyShares'
  | 'pskKeyExchangeModes'
  | 'paddingLength'
>;

/** Decodes one extension body (the reader's current scope is exactly that body) into `out`. */
export function decodeExtension(type: number, body: ByteReader, out: DecodedExtensions): void {
  switch (type) {
    case EXT.serverName:
      out.sni = decodeServerName(body);
      return;
    case EXT.supportedGroups:
      out.supportedGroups = listOf16(body, 'named_group_list');
      return;
    case EXT.ecPointFormats:
      out.ecPointFormats = listOf8(body, 'ec_point_format_list');
      return;
    case EXT.signatureAlgorithms:
      out.signatureAlgorithms = listOf16(body, 'supported_signature_algorithms');
      return;
    case EXT.alpn:
      out.alpn = decodeAlpn(body);
      return;
    case EXT.padding:
      out.paddingLength = body.remaining;
      return;
    case EXT.supportedVersions: {
      body.enterWhole(1, 'versions');
      out.supportedVersions = body.u16List('version');
      body.leave();
      if (out.supportedVersions.length === 0) throw malformed(body, 'versions list is empty');
      return;
    }
    case EXT.pskKeyExchangeModes:
      out.pskKeyExchangeModes = listOf8(body, 'ke_modes');
      return;
    case EXT.keyShare:
      out.keyShares = decodeKeyShares(body);
      return;
    default:
      // Every other extension is kept raw in ClientHello.extensions.
      return;
  }
}

function listOf16(body: ByteReader, field: string): number[] {
  body.enterWhole(2, field);
  const list = body.u16List(field);
  body.leave();
  return list;
}

function listOf8(body: ByteReader, field: string): number[] {
  body.enterWhole(1, field);
  const list = body.u8List();
  body.leave();
  return list;
}

// RFC 6066 §3: a list of (name_type, name); only host_name (0) is defined, and at most one of it.
function decodeServerName(r: ByteReader): string | undefined {
  r.enterWhole(2, 'server_name_list');
  let host: string | undefined;
  while (r.remaining > 0) {
    const nameType = r.u8('name_type');
    r.enter16('host_name');
    const start = r.pos;
    const end = r.end;
    r.leave();
    if (nameType !== 0) continue;
    if (host !== undefined || start === end) {
      r.leave(); // the error is about the extension, not the list
      throw malformed(r, host !== undefined ? 'more than one host_name' : 'host_name is empty');
    }
    // latin1 maps byte for byte, so an odd name is visible as sent rather than as U+FFFD.
    host = r.buf.toString('latin1', start, end);
  }
  r.leave();
  return host;
}

// RFC 7301 §3.1. Values are decoded latin1 (byte for byte) so JA4 can recover the exact octets
// of the first value for its non-alphanumeric rule. An empty value is kept, not rejected:
// JA4 defines a fingerprint for it and real scanners send it.
function decodeAlpn(r: ByteReader): string[] {
  r.enterWhole(2, 'protocol_name_list');
  const out: string[] = [];
  while (r.remaining > 0) {
    r.enter8('protocol_name');
    out.push(r.buf.toString('latin1', r.pos, r.end));
    r.leave();
  }
  r.leave();
  return out;
}

function decodeKeyShares(r: ByteReader): KeyShareEntry[] {
  r.enterWhole(2, 'client_shares');
  const out: KeyShareEntry[] = [];
  while (r.remaining > 0) {
    const group = r.u16('group');
    r.enter16('key_exchange');
    out.push({ group, length: r.remaining });
    r.leave();
  }
  r.leave();
  return out;
}

function malformed(body: ByteReader, message: string): ClientHelloError {
  return new ClientHelloError('WEAVER_ERR_HELLO_MALFORMED', `${body.what}: ${message}`);
}
