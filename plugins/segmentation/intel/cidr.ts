// Address prefixes as feeds write them ("1.2.3.4", "1.10.16.0/20", "2a12:2640::/29") turned into
// one canonical spelling — network address with the host bits cleared, RFC 5952 for IPv6 — so
// the same block from two feeds is one key, and a trie or nft set gets what it expects.
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  cidr: string;
  family: 4 | 6;
}

/** The canonical form of an address or prefix, or an error message. */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? undefined : text.slice(slash + 1);
  const family = isIPv4(addr) ? 4 : isIPv6(addr) && !addr.includes('%') ? 6 : 0;
  if (family === 0) return `not an IP address: "${addr}"`;
  const max = family === 4 ? 32 : 128;
  if (lenText !== undefined && !/^\d{1,3}$/.test(lenText)) return `bad prefix length "/${lenText}"`;
  const len = lenText === undefined ? max : Number(lenText);
  if (len > max) return `prefix length /${len} is longer than ${max}`;
  const bytes = family === 4 ? addr.split('.').map(Number) : ipv6Bytes(addr);
  for (let bit = len; bit < max; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  const network = family === 4 ? bytes.join('.') : formatIpv6(bytes);
  return { cidr: `${network}/${len}`, family };
}

function ipv6Bytes(addr: string): number[] {
  let text = addr.toLowerCase();
  // An embedded IPv4 tail ("::ffff:1.2.3.4") becomes two hex groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.flatMap((g) => {
    const v = parseInt(g, 16);
    return [v >> 8, v & 0xff];
  });
}

function formatIpv6(bytes: number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // The longest run of two or more zero groups collapses to "::" (the first, on a tie).
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
