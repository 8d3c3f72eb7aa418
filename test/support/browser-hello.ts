// Turns a browser signature from shared/data/browser_clienthello (curl-impersonate's YAML, MIT)
// into a HelloSpec, so tests can build the hello a given browser sends and reorder its
// extensions the way Chrome does on every connection.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ext, u16, vec8, vec16 } from './hello-builder.ts';
import type { HelloExtension, HelloSpec } from './hello-builder.ts';
import { sharedDataPath } from './shared-data.ts';

interface YamlExtension {
  type: string;
  length?: number;
  data?: Uint8Array;
  supported_groups?: (number | string)[];
  supported_versions?: string[];
  ec_point_formats?: number[];
  sig_hash_algs?: number[];
  alpn_list?: string[];
  alps_alpn_list?: string[];
  key_shares?: { group: number | string; length: number }[];
  psk_ke_mode?: number;
  algorithms?: number[];
  record_size_limit?: number;
  status_request_type?: number;
}

export interface BrowserSignature {
  name: string;
  spec: HelloSpec;
  /** JA3 reported by the signature's source, with its JA3 string, when it has one. */
  thirdParty?: { ja3Hash: string; ja3Text: string };
}

const VERSIONS: Record<string, number> = { TLS_VERSION_1_3: 0x0304, TLS_VERSION_1_2: 0x0303, TLS_VERSION_1_1: 0x0302, TLS_VERSION_1_0: 0x0301 };

const TYPES: Record<string, number> = {
  server_name: 0x0000,
  status_request: 0x0005,
  supported_groups: 0x000a,
  ec_point_formats: 0x000b,
  signature_algorithms: 0x000d,
  application_layer_protocol_negotiation: 0x0010,
  signed_certificate_timestamp: 0x0012,
  padding: 0x0015,
  extended_master_secret: 0x0017,
  compress_certificate: 0x001b,
  record_size_limit: 0x001c,
  delegated_credentials: 0x0022,
  session_ticket: 0x0023,
  pre_shared_key: 0x0029,
  supported_versions: 0x002b,
  psk_key_exchange_modes: 0x002d,
  keyshare: 0x0033,
  application_settings: 0x4469,
  application_settings_new: 0x44cd,
  encrypted_client_hello: 0xfe0d,
  renegotiation_info: 0xff01,
};

/** Loads `browser_clienthello/<file>`; GREASE markers become distinct GREASE values. */
export function loadBrowserSignature(file: string, sni = 'example.com'): BrowserSignature {
  const doc = parse(readFileSync(sharedDataPath(`browser_clienthello/${file}`), 'utf8'), { customTags: ['binary'] });
  const hello = doc.signature.tls_client_hello;
  let grease = 0;
  // BoringSSL picks different GREASE values for each place; distinct values keep that shape.
  const nextGrease = (): number => 0x0a0a + 0x1010 * (grease++ % 16);
  const value = (v: number | string): number => (v === 'GREASE' ? nextGrease() : typeof v === 'string' ? VERSIONS[v]! : v);
  const spec: HelloSpec = {
    helloVersion: VERSIONS[hello.handshake_version] ?? 0x0303,
    sessionId: Buffer.alloc(hello.session_id_length ?? 32, 0x17),
    ciphers: (hello.ciphersuites as (number | string)[]).map(value),
    compression: hello.comp_methods ?? [0],
    extensions: (hello.extensions as YamlExtension[]).map((e) => toExtension(e, value, sni)),
  };
  const tp = doc.third_party;
  return {
    name: file,
    spec,
    thirdParty: tp?.ja3_hash ? { ja3Hash: tp.ja3_hash, ja3Text: tp.ja3_text } : undefined,
  };
}

function toExtension(e: YamlExtension, value: (v: number | string) => number, sni: string): HelloExtension {
  if (e.type === 'GREASE') return ext.raw(value('GREASE'), Buffer.from(e.data ?? []));
  const type = TYPES[e.type];
  if (type === undefined) throw new Error(`browser signature: unknown extension type ${e.type}`);
  switch (e.type) {
    case 'server_name':
      return ext.serverName(sni);
    case 'supported_groups':
      return ext.supportedGroups(e.supported_groups!.map(value));
    case 'supported_versions':
      return ext.supportedVersions(e.supported_versions!.map(value));
    case 'ec_point_formats':
      return ext.ecPointFormats(e.ec_point_formats!);
    case 'signature_algorithms':
    case 'delegated_credentials':
      return ext.signatureAlgorithms(e.sig_hash_algs!, type);
    case 'application_layer_protocol_negotiation':
      return ext.alpn(e.alpn_list!);
    case 'application_settings':
    case 'application_settings_new':
      return ext.raw(type, vec16(Buffer.concat(e.alps_alpn_list!.map((p) => vec8(Buffer.from(p))))));
    case 'keyshare':
      return ext.keyShare(e.key_shares!.map((k) => ({ group: value(k.group), length: k.length })));
    case 'psk_key_exchange_modes':
      return ext.pskKeyExchangeModes([e.psk_ke_mode ?? 1]);
    case 'compress_certificate':
      return ext.raw(type, vec8(Buffer.concat(e.algorithms!.map(u16))));
    case 'record_size_limit':
      return ext.raw(type, u16(e.record_size_limit!));
    case 'status_request':
      return ext.raw(type, [e.status_request_type ?? 1, 0, 0, 0, 0]);
    case 'renegotiation_info':
      return ext.raw(type, [0]);
    default:
      return ext.raw(type, Buffer.alloc(e.length ?? 0));
  }
}

/**
 * Reorders the extensions as Chrome does (BoringSSL shuffles all but the GREASE bookends,
 * padding and pre_shared_key), with a seeded generator so tests are repeatable.
 */
export function permuteExtensions(spec: HelloSpec, seed: number): HelloSpec {
  const all = spec.extensions ?? [];
  const fixed = (e: HelloExtension, i: number): boolean =>
    ((e.type & 0x0f0f) === 0x0a0a && (i === 0 || i === all.length - 1)) || e.type === 0x0015 || e.type === 0x0029;
  const movable = all.filter((e, i) => !fixed(e, i));
  let state = seed >>> 0 || 1;
  const random = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  for (let i = movable.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [movable[i], movable[j]] = [movable[j]!, movable[i]!];
  }
  let next = 0;
  return { ...spec, extensions: all.map((e, i) => (fixed(e, i) ? e : movable[next++]!)) };
}

/**
 * Puts the non-GREASE extensions in the order a JA3 string lists them (GREASE stays put), or
 * returns undefined when the JA3 string names a different set of extensions than the spec.
 */
export function orderLikeJa3(spec: HelloSpec, ja3Text: string): HelloSpec | undefined {
  const order = ja3Text.split(',')[2]!.split('-').map(Number);
  const all = spec.extensions ?? [];
  const isGrease = (t: number): boolean => (t & 0x0f0f) === 0x0a0a;
  const byType = new Map(all.filter((e) => !isGrease(e.type)).map((e) => [e.type, e]));
  if (order.length !== byType.size || !order.every((t) => byType.has(t))) return undefined;
  let next = 0;
  return { ...spec, extensions: all.map((e) => (isGrease(e.type) ? e : byType.get(order[next++]!)!)) };
}
