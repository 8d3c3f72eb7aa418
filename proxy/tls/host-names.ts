// Host names as certificates and SNI carry them: case-insensitive, no trailing dot, IPv6 in its
// canonical short form so that "0:0:0:0:0:0:0:1" and "::1" are the same host.
import { isIP } from 'node:net';

const dnsLabel = '[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?';
const dnsName = new RegExp(`^(\\*\\.)?${dnsLabel}(\\.${dnsLabel})*$`);

export function normalizeHost(host: string): string {
  const h = host.trim().toLowerCase().replace(/\.$/, '');
  if (isIP(h) === 6) return new URL(`http://[${h}]`).hostname.slice(1, -1);
  return h;
}

export function isIpAddress(host: string): boolean {
  return isIP(host) !== 0;
}

/** A DNS name (optionally a `*.` wildcard) or an IP address, as a certificate can name it. */
export function isCertificateHost(host: string): boolean {
  const h = normalizeHost(host);
  return isIpAddress(h) || (h.length <= 253 && dnsName.test(h));
}
