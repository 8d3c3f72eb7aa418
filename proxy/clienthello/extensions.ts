// Decoding of the ClientHello extensions that routing and fingerprints read. Each body must fill
// its extension exactly: a TLS library rejects a hello whose inner lengths disagree, and so do we.
import { ClientHelloError } from '../errors.ts';
import type { ByteReader } from './byte-reader.ts';
import type { ClientHello, KeyShareEntry } from './types.ts';

export const EXT = {
  serverName: 0x0000,
  supportedGroups: 0x000a,
  ecPointFormats: 0x000b,
  signatureAlgorithms: 0x000d,
  alpn: 0x0010,
  padding: 0x0015,
  supportedVersions: 0x002b,
  pskKeyExchangeModes: 0x002d,
  keyShare: 0x0033,
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

export function emptyDecodedExtensions(): DecodedExtensions {
  return {
    supportedVersions: [],
    supportedGroups: [],
    ecPointFormats: [],
    signatureAlgorithms: [],
    alpn: [],
    sni: undefined,
    keyShares: [],
    pskKeyExchangeModes: [],
    paddingLength: 0,
  };
}

/** Decodes one extension body (the reader covers exactly that body) into `out`. */
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
      const versions = body.vec8('versions');
      body.done();
      out.supportedVersions = versions.u16List('version');
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
  const list = body.vec16(field);
  body.done();
  return list.u16List(field);
}

function listOf8(body: ByteReader, field: string): number[] {
  const list = body.vec8(field);
  body.done();
  return list.u8List();
}

// RFC 6066 §3: a list of (name_type, name); only host_name (0) is defined, and at most one of it.
function decodeServerName(body: ByteReader): string | undefined {
  const list = body.vec16('server_name_list');
  body.done();
  let host: string | undefined;
  while (list.remaining > 0) {
    const nameType = list.u8('name_type');
    const name = list.vec16('host_name');
    if (nameType !== 0) continue;
    if (host !== undefined) throw malformed(body, 'more than one host_name');
    if (name.remaining === 0) throw malformed(body, 'host_name is empty');
    // latin1 maps byte for byte, so an odd name is visible as sent rather than as U+FFFD.
    host = name.bytes(name.remaining, 'host_name').toString('latin1');
  }
  return host;
}

// RFC 7301 §3.1. Values are decoded latin1 (byte for byte) so JA4 can recover the exact octets
// of the first value for its non-alphanumeric rule. An empty value is kept, not rejected:
// JA4 defines a fingerprint for it and real scanners send it.
function decodeAlpn(body: ByteReader): string[] {
  const list = body.vec16('protocol_name_list');
  body.done();
  const out: string[] = [];
  while (list.remaining > 0) {
    const name = list.vec8('protocol_name');
    out.push(name.bytes(name.remaining, 'protocol_name').toString('latin1'));
  }
  return out;
}

function decodeKeyShares(body: ByteReader): KeyShareEntry[] {
  const list = body.vec16('client_shares');
  body.done();
  const out: KeyShareEntry[] = [];
  while (list.remaining > 0) {
    const group = list.u16('group');
    const key = list.vec16('key_exchange');
    out.push({ group, length: key.remaining });
  }
  return out;
}

function malformed(body: ByteReader, message: string): ClientHelloError {
  return new ClientHelloError('WEAVER_ERR_HELLO_MALFORMED', `${body.what}: ${message}`);
}
