// JA4 (FoxIO, BSD-3-Clause), as specified in FoxIO-LLC/ja4 technical_details/JA4.md:
//   a: transport, version, SNI d/i, cipher count, extension count, ALPN first+last
//   b: sha256 of the sorted cipher list, 12 hex chars
//   c: sha256 of "sorted extensions without SNI and ALPN" + "_" + signature algorithms (wire order)
// plus the raw (`_r`) and original-order (`_o`, `_ro`) renderings. GREASE is ignored everywhere.
import { hash } from 'node:crypto';
import { EXT } from './extensions.ts';
import { withoutGrease } from './grease.ts';
import type { ClientHello, Fingerprints } from './types.ts';

export type Ja4Fingerprints = Pick<Fingerprints, 'ja4' | 'ja4_r' | 'ja4_o' | 'ja4_ro'>;

const EMPTY_HASH = '000000000000';

const VERSIONS: Record<number, string> = {
  0x0304: '13',
  0x0303: '12',
  0x0302: '11',
  0x0301: '10',
  0x0300: 's3',
  0x0002: 's2',
  0xfeff: 'd1',
  0xfefd: 'd2',
  0xfefc: 'd3',
};

export function ja4(hello: ClientHello): Ja4Fingerprints {
  return { ...ja4Sorted(hello), ...ja4Original(hello) };
}

/** The `a` part: transport, version, SNI d/i, cipher and extension counts, ALPN. */
function ja4Prefix(hello: ClientHello, ciphers: number, extensions: number): string {
  return (
    (hello.transport === 'quic' ? 'q' : 't') +
    ja4Version(hello) +
    (hello.extensionTypes.includes(EXT.serverName) ? 'd' : 'i') +
    count2(ciphers) +
    count2(extensions) +
    ja4Alpn(hello.alpn[0])
  );
}

// The two halves are computed apart, so a reader of `ja4` alone (most plugins) does not pay
// for the original-order hashes, and the reverse.

/** JA4 and JA4_r: ciphers and extensions sorted. */
export function ja4Sorted(hello: ClientHello): Pick<Fingerprints, 'ja4' | 'ja4_r'> {
  const cipherCodes = withoutGrease(hello.ciphers);
  const extensions = withoutGrease(hello.extensionTypes);
  const sigalgs = withoutGrease(hello.signatureAlgorithms).map(hex4).join(',');
  const a = ja4Prefix(hello, cipherCodes.length, extensions.length);
  // The sorted forms drop SNI and ALPN, already in `a`, so a client going to an IP or asking for
  // another protocol keeps its `c`. Four-digit lowercase hex sorts like the numbers it encodes,
  // so sort the numbers.
  const sortedExts = extensions
    .filter((t) => t !== EXT.serverName && t !== EXT.alpn)
    .sort(byValue)
    .map(hex4);
  const sortedCiphers = cipherCodes.sort(byValue).map(hex4);
  const sortedC = withSigalgs(sortedExts.join(','), sigalgs);
  return {
    ja4: `${a}_${hash12(sortedCiphers)}_${sortedExts.length === 0 ? EMPTY_HASH : sha12(sortedC)}`,
    ja4_r: `${a}_${sortedCiphers.join(',')}_${sortedC}`,
  };
}

/** JA4_o and JA4_ro: ciphers and every extension in the order sent. */
export function ja4Original(hello: ClientHello): Pick<Fingerprints, 'ja4_o' | 'ja4_ro'> {
  const ciphers = withoutGrease(hello.ciphers).map(hex4);
  const extensions = withoutGrease(hello.extensionTypes);
  const sigalgs = withoutGrease(hello.signatureAlgorithms).map(hex4).join(',');
  const a = ja4Prefix(hello, ciphers.length, extensions.length);
  const originalExts = extensions.map(hex4);
  const originalC = withSigalgs(originalExts.join(','), sigalgs);
  return {
    ja4_o: `${a}_${hash12(ciphers)}_${originalExts.length === 0 ? EMPTY_HASH : sha12(originalC)}`,
    ja4_ro: `${a}_${ciphers.join(',')}_${originalC}`,
  };
}

/** Highest non-GREASE supported_versions value, else the hello's legacy_version. */
export function ja4Version(hello: ClientHello): string {
  const offered = withoutGrease(hello.supportedVersions);
  // A list of nothing but GREASE says nothing, so it falls back like an absent extension.
  const version = offered.length > 0 ? Math.max(...offered) : hello.helloVersion;
  return VERSIONS[version] ?? '00';
}

/**
 * First and last character of the first ALPN value; `00` when there is none or it is empty.
 * When the first or last byte is not ASCII alphanumeric, the first and last characters of the
 * value's hex encoding are used instead (so 0x30 0xab gives "3b").
 */
export function ja4Alpn(first: string | undefined): string {
  if (first === undefined || first.length === 0) return '00';
  // The parser decodes ALPN as latin1, so this gives back the octets exactly as sent.
  const bytes = Buffer.from(first, 'latin1');
  const head = bytes[0]!;
  const tail = bytes[bytes.length - 1]!;
  if (isAlnum(head) && isAlnum(tail)) return String.fromCharCode(head, tail);
  const hex = bytes.toString('hex');
  return hex[0]! + hex[hex.length - 1]!;
}

function withSigalgs(exts: string, sigalgs: string): string {
  // Spec: with no signature algorithms the string ends without the underscore.
  return sigalgs === '' ? exts : `${exts}_${sigalgs}`;
}

function hash12(list: string[]): string {
  return list.length === 0 ? EMPTY_HASH : sha12(list.join(','));
}

function sha12(s: string): string {
  return hash('sha256', s, 'hex').slice(0, 12);
}

function count2(n: number): string {
  return String(Math.min(n, 99)).padStart(2, '0');
}

function byValue(a: number, b: number): number {
  return a - b;
}

// Code points repeat across every hello (a few hundred distinct values in practice), so their
// hex forms are made once.
const hexCache: string[] = [];
function hex4(v: number): string {
  return (hexCache[v] ??= v.toString(16).padStart(4, '0'));
}

function isAlnum(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}
