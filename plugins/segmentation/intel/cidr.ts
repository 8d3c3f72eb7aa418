// Address prefixes as feeds write them ("1.2.3.4", "1.10.16.0/20", "2a12:2640::/29") turned into
// the engine's canonical spelling (`../address.ts`: host bits cleared, RFC 5952 for IPv6, an
// IPv4-mapped address as IPv4), so the same block from two feeds, or a feed and a rule, is one key.
import { parsePrefix } from '../address.ts';

export interface Cidr {
  cidr: string;
  family: 4 | 6;
}

/** The canonical form of an address or prefix, or an error message. */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? undefined : text.slice(slash + 1);
  if (lenText !== undefined && !/^\d{1,3}$/.test(lenText)) return `bad prefix length "/${lenText}"`;
  // A zone (fe80::1%eth0) names an interface of the feed's author, not a network.
  const prefix = addr.includes('%') ? undefined : parsePrefix(text);
  if (prefix) return { cidr: prefix.text, family: prefix.bytes.length === 4 ? 4 : 6 };
  if (!parsePrefix(addr) || addr.includes('%')) return `not an IP address: "${addr}"`;
  return `prefix length /${lenText} is longer than ${addr.includes(':') ? 128 : 32}`;
}
