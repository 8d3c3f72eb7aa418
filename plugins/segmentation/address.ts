// IP addresses and CIDR prefixes as bytes (4 for IPv4, 16 for IPv6), the form the prefix trie
// walks. An IPv4-mapped IPv6 address (::ffff:1.2.3.4) is taken as the IPv4 address, so one
// rule covers a client however the socket reports it.
import { isIPv4, isIPv6 } from 'node:net';

/**
 * An IPv4 address as a signed 32-bit number, or an IPv6 address as 16 bytes. Signed, so that
 * every address is a small integer to V8 (an unsigned one past 2^31 would be a heap number:
 * an allocation per parse, and a slower hash key).
 */
export type Address = number | Uint8Array;

export const v4Number = (b: Uint8Array): number => (b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!;

export interface Prefix {
  bytes: Uint8Array;
  len: number;
  /** Canonical text: network address / length, e.g. 10.1.0.0/16. */
  text: string;
}

/** The form the trie looks up: a number for IPv4 (the connection path's case, parsed without allocating), else 16 bytes. */
export function parseIp(text: string): Address | undefined {
  const quick = parseIPv4(text);
  if (quick !== undefined) return quick;
  const bytes = parseAddress(text);
  return bytes?.length === 4 ? v4Number(bytes) : bytes;
}

export function parseAddress(text: string): Uint8Array | undefined {
  const quick = parseIPv4(text);
  if (quick !== undefined) return new Uint8Array([quick >>> 24, (quick >>> 16) & 255, (quick >>> 8) & 255, quick & 255]);
  const out = parseIPv6Hex(text) ?? parseOther(text);
  return out && isMapped(out) ? out.slice(12) : out;
}

/** ::ffff:a.b.c.d */
function isMapped(b: Uint8Array): boolean {
  if (b.length !== 16 || b[10] !== 0xff || b[11] !== 0xff) return false;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return true;
}

/** Forms the quick parsers leave: IPv4-mapped with a dotted quad, a zone id, an IPv4 Node accepts. */
function parseOther(text: string): Uint8Array | undefined {
  if (text.startsWith('::ffff:') && text.includes('.')) text = text.slice(7);
  if (isIPv4(text)) {
    const out = new Uint8Array(4);
    let i = 0;
    for (const part of text.split('.')) out[i++] = Number(part);
    return out;
  }
  if (!isIPv6(text)) return undefined;
  const at = text.indexOf('%');
  if (at >= 0) text = text.slice(0, at);
  if (text.includes('.')) {
    // A trailing dotted quad (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) becomes two hex groups.
    const dot = text.lastIndexOf(':');
    const v4 = parseAddress(text.slice(dot + 1));
    if (!v4 || v4.length !== 4) return undefined;
    text = `${text.slice(0, dot + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const words = (s: string): number[] => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  let groups = words(head);
  if (rest !== undefined) {
    const back = words(rest);
    groups = [...groups, ...new Array<number>(8 - groups.length - back.length).fill(0), ...back];
  }
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

// IPv6 in hex groups (no dotted quad, no zone id), without a regex or a split; undefined for
// anything else, and the general parser decides.
function parseIPv6Hex(text: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  const len = text.length;
  let n = 0; // groups written
  let gap = -1; // where '::' stands, in groups
  let value = 0;
  let digits = 0;
  let i = 0;
  if (text.startsWith('::')) {
    gap = 0;
    i = 2;
    if (len === 2) return out;
  }
  for (; i <= len; i++) {
    // The end of the text closes the last group as a ':' would.
    const c = i < len ? text.charCodeAt(i) : 58;
    if (c !== 58) {
      const h = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (h < 0 || digits === 4) return undefined;
      value = value * 16 + h;
      digits++;
      continue;
    }
    if (digits === 0 || n === 8) return undefined;
    out[n * 2] = value >> 8;
    out[n * 2 + 1] = value & 255;
    n++;
    value = digits = 0;
    if (i + 1 < len && text.charCodeAt(i + 1) === 58) {
      if (gap >= 0) return undefined;
      gap = n;
      i++;
      if (i === len - 1) break; // a trailing '::'
    }
  }
  if (gap < 0) return n === 8 ? out : undefined;
  if (n > 7) return undefined;
  const tail = (n - gap) * 2;
  out.copyWithin(16 - tail, gap * 2, n * 2);
  out.fill(0, gap * 2, 16 - tail);
  return out;
}

// The common case on the connection path, without a regex or a split: strict dotted quad
// (no leading zeros, each part 0–255) as an Address, else undefined and the general parser decides.
function parseIPv4(text: string): number | undefined {
  let out = 0;
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part === 3) return undefined;
      out = (out << 8) | value;
      part++;
      value = digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return undefined;
      value = value * 10 + (c - 48);
      if (value > 255) return undefined;
      digits++;
    } else return undefined;
  }
  if (part !== 3 || digits === 0) return undefined;
  return (out << 8) | value;
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128). Host bits are cleared. */
export function parsePrefix(text: string): Prefix | undefined {
  const slash = text.indexOf('/');
  const addr = parseAddress((slash < 0 ? text : text.slice(0, slash)).trim());
  if (!addr) return undefined;
  const max = addr.length * 8;
  let len = max;
  if (slash >= 0) {
    const l = text.slice(slash + 1).trim();
    if (!/^\d{1,3}$/.test(l)) return undefined;
    len = Number(l);
    if (len > max) return undefined;
  }
  const bytes = addr.slice();
  for (let bit = len; bit < max; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { bytes, len, text: `${formatAddress(bytes)}/${len}` };
}

export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // The longest run of zero groups becomes '::' (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Whether prefix `inner` lies wholly inside prefix `outer` (same family). */
export function covers(outer: Prefix, inner: Prefix): boolean {
  if (outer.bytes.length !== inner.bytes.length || outer.len > inner.len) return false;
  for (let bit = 0; bit < outer.len; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((outer.bytes[bit >> 3]! & m) !== (inner.bytes[bit >> 3]! & m)) return false;
  }
  return true;
}
