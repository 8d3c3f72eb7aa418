// IP addresses and CIDR prefixes as bytes (4 for IPv4, 16 for IPv6), the form the prefix trie
// walks. An IPv4-mapped IPv6 address (::ffff:1.2.3.4) is taken as the IPv4 address, so one
// rule covers a client however the socket reports it.
import { isIPv4, isIPv6 } from 'node:net';

export interface Prefix {
  bytes: Uint8Array;
  len: number;
  /** Canonical text: network address / length, e.g. 10.1.0.0/16. */
  text: string;
}

export function parseAddress(text: string): Uint8Array | undefined {
  const quick = parseIPv4(text);
  if (quick) return quick;
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
  if (out.subarray(0, 10).every((b) => b === 0) && out[10] === 0xff && out[11] === 0xff) return out.slice(12);
  return out;
}

// The common case on the connection path, without a regex or a split: strict dotted quad
// (no leading zeros, each part 0–255), else undefined and the general parser decides.
function parseIPv4(text: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part === 3) return undefined;
      out[part++] = value;
      value = digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return undefined;
      value = value * 10 + (c - 48);
      if (value > 255) return undefined;
      digits++;
    } else return undefined;
  }
  if (part !== 3 || digits === 0) return undefined;
  out[3] = value;
  return out;
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
