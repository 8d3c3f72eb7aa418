// One TLS stack sends the same hello on every connection but for a few parts: the random, the
// session id, the key-share bytes, the bodies of padding, PSK, ticket, early data, cookie, ECH
// and QUIC transport parameters, the GREASE values in the cipher, extension, group, version,
// key-share and signature lists, and (Chrome) the extension order. A template is what all the
// hellos of one such family share: once one of them has been parsed in full (every length
// checked), the next ones need only one walk over their bytes to be recognised, and take from
// the template what follows from the rest (that they are well formed, their shape, their
// fingerprints); their lists are decoded only if someone reads them. The walk allocates nothing
// and runs the same short loop for every list, where a full parse runs a decoder per extension
// and makes some 25 objects.
//
// A family is keyed by a 53-bit digest of those bytes, seeded with a secret of the process, so a
// client cannot make its hello collide with another family's. The walk gives up (key 0: parse
// in full) at anything malformed it can see without decoding (bad lengths, a repeated
// extension, an empty version list), so such a hello meets the full parser; one malformed
// deeper inside an extension differs in bytes from every well-formed one, so in digest too.
// The extension order is not hashed but interned exactly (an id), so whether a hello shares its
// family's JA3 is decided by equality, not by a digest a client could aim at.
import { randomInt } from 'node:crypto';
import { EXT } from './extensions.ts';
import { forgetTypes, metBefore } from './extension-set.ts';
import { greaseAsOne, isGrease } from './grease.ts';
import { Interner } from './intern.ts';

/** Families kept at most: a spray of new ones costs full parses, never memory. */
const MAX_TEMPLATES = 4096;

/** Extensions a hello may carry, at most (more: parsed in full, not keyed). */
const MAX_EXTENSIONS = 256;

export interface HelloTemplate {
  /** The hello's interned shape (hello-info.ts); -1 until first worked out. */
  shape: number;
  /** The interned extension order the family's JA3 and JA4_o are for: that of the first of its hellos asked for one (0: none yet). */
  order: number;
  /** Fingerprints (hello-info.ts) of the family; JA3 and JA4_o for hellos in `order` only. */
  ja3: object | undefined;
  ja4: object | undefined;
  ja4o: object | undefined;
}

/** What a hello from the parser says of its family (a ClientHello made some other way says nothing). */
export interface FamilyMember {
  readonly template: HelloTemplate | undefined;
  /** The interned order of its non-GREASE extension types (compare with the template's `order`; 0: not interned). */
  readonly orderId: number;
}

/** Where the last walk found the parts of its hello that change from one connection to the next. */
export interface HelloLayout {
  /** The family's key; 0 when the walk gave up. */
  key: number;
  helloVersion: number;
  helloLength: number;
  randomAt: number;
  sessionIdLength: number;
  /** The extensions block; -1 when the hello has none. */
  extensionsAt: number;
  extensionsEnd: number;
  paddingLength: number;
}

/** Filled by `findTemplate`, read at once by the parser (parsing is synchronous). */
export const layout: HelloLayout = {
  key: 0, helloVersion: 0, helloLength: 0, randomAt: 0, sessionIdLength: 0, extensionsAt: -1, extensionsEnd: -1, paddingLength: 0,
};

const SEED = randomInt(0x7fffffff);
const templates = new Map<number, HelloTemplate>();
const orders = new Interner(MAX_TEMPLATES);
/** The non-GREASE extension types of the hello being walked (or ordered), in wire order. */
const types = new Uint16Array(MAX_EXTENSIONS);

/** The interned id of an extension order (the non-GREASE types in wire order); 0 when it cannot be interned. */
export function orderId(units: Uint16Array, n: number): number {
  return orders.id(units, n);
}

/**
 * The interned order of the extensions of a checked block at buf[at, end) (at −1: none), from
 * their headers alone: only a reader of JA3 or JA4_o asks, so the walk does not intern it.
 */
export function extensionOrderOf(buf: Buffer, at: number, end: number): number {
  let n = 0;
  for (let p = at; p >= 0 && p < end; p += 4 + buf.readUInt16BE(p + 2)) {
    const type = buf.readUInt16BE(p);
    if (isGrease(type)) continue;
    if (n === MAX_EXTENSIONS) return 0;
    types[n++] = type;
  }
  return orderId(types, n);
}

// Two 32-bit lanes of multiply-xor. `a`, `b`: the running lanes of the part being hashed.
let a = 0;
let b = 0;
const mix = (v: number): void => {
  a = Math.imul(a ^ v, 0x01000193);
  b = Math.imul(b + v, 0x5bd1e995) ^ (b >>> 13);
};
const fmix = (h: number): number => {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
};

/** Mixes `n` bytes at `p` as 16-bit values, GREASE as one value; false when `n` is odd. */
function mixU16s(buf: Buffer, p: number, n: number): boolean {
  if (n % 2 !== 0) return false;
  for (const end = p + n; p < end; p += 2) mix(greaseAsOne((buf[p]! << 8) | buf[p + 1]!));
  return true;
}

/** Mixes `n` bytes at `p`, four at a time (the length is mixed by the caller or the walk). */
function mixBytes(buf: Buffer, p: number, n: number): void {
  const end = p + n;
  for (; end - p >= 4; p += 4) mix(buf.readInt32BE(p));
  for (; p < end; p++) mix(buf[p]!);
}

/** Mixes one extension body the way its family shares it; false when it is not as expected. */
function mixBody(buf: Buffer, type: number, p: number, n: number): boolean {
  switch (type) {
    case EXT.supportedGroups:
    case EXT.signatureAlgorithms:
    case EXT.delegatedCredentials:
      return n >= 2 && buf.readUInt16BE(p) === n - 2 && mixU16s(buf, p + 2, n - 2);
    case EXT.supportedVersions:
      return n >= 3 && buf[p] === n - 1 && mixU16s(buf, p + 1, n - 1);
    case EXT.keyShare: {
      // The groups and their key lengths; the keys themselves are new on every connection.
      if (n < 2 || buf.readUInt16BE(p) !== n - 2) return false;
      const end = p + n;
      for (p += 2; p < end; ) {
        if (end - p < 4) return false;
        const length = buf.readUInt16BE(p + 2);
        mix(greaseAsOne(buf.readUInt16BE(p)));
        mix(length);
        p += 4 + length;
      }
      return p === end;
    }
    case EXT.padding:
    case EXT.sessionTicket:
    case EXT.preSharedKey:
    case EXT.earlyData:
    case EXT.cookie:
    case EXT.encryptedClientHello:
    case EXT.quicTransportParameters:
    case EXT.quicTransportParametersDraft:
      return true; // per connection; neither the full parser nor a fingerprint looks inside
    default:
      mix(n);
      mixBytes(buf, p, n);
      return true;
  }
}

/**
 * Walks the handshake message at buf[start, end) and returns its family's template when one is
 * known; `layout` then says where this hello's own parts are. When none is known, `layout.key`
 * is the key to `remember` it under once the full parse has accepted it (0: cannot be keyed).
 */
export function findTemplate(buf: Buffer, start: number, end: number, transport: 'tcp' | 'quic'): HelloTemplate | undefined {
  layout.key = 0;
  if (end - start < 4 + 2 + 32 + 1 || buf[start] !== 1) return undefined;
  const bodyEnd = start + 4 + ((buf[start + 1]! << 16) | buf.readUInt16BE(start + 2));
  if (bodyEnd > end) return undefined;
  let p = start + 4;
  a = SEED;
  b = SEED ^ 0x27d4eb2f;
  mix(transport === 'quic' ? 1 : 0);
  const helloVersion = buf.readUInt16BE(p);
  mix(helloVersion);
  const randomAt = p + 2;
  p = randomAt + 32;
  const sessionIdLength = buf[p]!;
  p += 1 + sessionIdLength;
  if (sessionIdLength > 32 || bodyEnd - p < 2) return undefined;
  const ciphers = buf.readUInt16BE(p);
  if (bodyEnd - p - 2 < ciphers + 1) return undefined;
  mix(ciphers);
  if (!mixU16s(buf, p + 2, ciphers)) return undefined;
  p += 2 + ciphers;
  const compression = buf[p]!;
  if (bodyEnd - p - 1 < compression) return undefined;
  mix(compression);
  mixBytes(buf, p + 1, compression);
  p += 1 + compression;

  let extensionsAt = -1;
  let sum1 = 0;
  let sum2 = 0;
  let padding = 0;
  let count = 0;
  let n = 0;
  if (p < bodyEnd) {
    if (bodyEnd - p < 2 || buf.readUInt16BE(p) !== bodyEnd - p - 2) return undefined;
    extensionsAt = p + 2;
    const head1 = a;
    const head2 = b;
    // Each extension is hashed on its own and the hashes added up, so any order of the same
    // extensions is one family (JA3 and JA4_o, which keep the order, are checked against `order`).
    let ok = true;
    for (p = extensionsAt; p < bodyEnd; count++) {
      const type = bodyEnd - p < 4 ? -1 : buf.readUInt16BE(p);
      const length = type < 0 ? 0 : buf.readUInt16BE(p + 2);
      const grease = isGrease(type);
      if (type < 0 || bodyEnd - p - 4 < length || (!grease && (n === MAX_EXTENSIONS || metBefore(type)))) {
        ok = false;
        break;
      }
      if (!grease) types[n++] = type;
      a = SEED ^ 0x3c6ef372;
      b = SEED ^ 0x0badcafe;
      mix(greaseAsOne(type));
      if (!mixBody(buf, type, p + 4, length)) {
        ok = false;
        break;
      }
      sum1 = (sum1 + fmix(a)) | 0;
      sum2 = (sum2 + fmix(b ^ 0x9e3779b9)) | 0;
      if (type === EXT.padding) padding = length;
      p += 4 + length;
    }
    forgetTypes(types, n);
    if (!ok) return undefined;
    a = head1;
    b = head2;
  }
  mix(count);
  mix(sum1);
  mix(sum2);
  layout.key = (fmix(a) >>> 0) * 2_097_152 + ((fmix(b) >>> 0) >>> 11) || 1;
  layout.helloVersion = helloVersion;
  layout.helloLength = bodyEnd - start;
  layout.randomAt = randomAt;
  layout.sessionIdLength = sessionIdLength;
  layout.extensionsAt = extensionsAt;
  layout.extensionsEnd = extensionsAt < 0 ? -1 : bodyEnd;
  layout.paddingLength = padding;
  return templates.get(layout.key);
}

/** Starts a family for the hello `findTemplate` last keyed, which the full parser has accepted. */
export function remember(key: number): HelloTemplate {
  // Clearing, not dropping the oldest (see hello-info.ts's Memo).
  if (templates.size >= MAX_TEMPLATES) templates.clear();
  const t: HelloTemplate = { shape: -1, order: 0, ja3: undefined, ja4: undefined, ja4o: undefined };
  templates.set(key, t);
  return t;
}
