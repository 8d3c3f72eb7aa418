// Tells the upstream who the client is: X-Forwarded-For/Proto/Host (the de facto headers) and
// RFC 7239 Forwarded. A client can write these headers too, so unless the operator says the
// hop in front of Weaver is trusted (`http.trustForwarded`), whatever the client sent is
// dropped and replaced; when trusted, our hop is appended to the chain it started.

export const FORWARDED_HEADERS: ReadonlySet<string> = new Set([
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
]);

export interface ForwardedHop {
  /** The client's address as the socket saw it (no port). */
  readonly clientAddress: string;
  /** The scheme the client used to reach Weaver. */
  readonly proto: string;
  /** The authority the client asked for (Host or :authority), port included if it had one. */
  readonly host: string;
}

export type IncomingForwarded = Partial<Record<'forwarded' | 'x-forwarded-for' | 'x-forwarded-proto' | 'x-forwarded-host', string>>;

/**
 * The four headers to send upstream, set on `out` (a new object by default). `incoming` is used
 * only when the hop before us is trusted.
 */
export function forwardedHeaders(hop: ForwardedHop, incoming: IncomingForwarded | undefined, out: Record<string, string | string[]> = {}): Record<string, string | string[]> {
  const element = forwardedElement(hop);
  const xff = incoming?.['x-forwarded-for'];
  const fwd = incoming?.forwarded;
  out['x-forwarded-for'] = xff ? `${xff}, ${hop.clientAddress}` : hop.clientAddress;
  // Proto and host describe the request as the first hop saw it, so a trusted one stands.
  out['x-forwarded-proto'] = incoming?.['x-forwarded-proto'] ?? hop.proto;
  out['x-forwarded-host'] = incoming?.['x-forwarded-host'] ?? hop.host;
  out.forwarded = fwd ? `${fwd}, ${element}` : element;
  return out;
}

/** The last element made: requests on one connection, one after another, mostly share it. */
let last: { clientAddress: string; host: string; proto: string; element: string } = { clientAddress: '', host: '', proto: '', element: '' };

/** One RFC 7239 forwarded-element: `for=…;host=…;proto=…`. */
export function forwardedElement(hop: ForwardedHop): string {
  if (hop.clientAddress === last.clientAddress && hop.host === last.host && hop.proto === last.proto && last.element !== '') return last.element;
  const element = `for=${forwardedNode(hop.clientAddress)};host=${quoteIfNeeded(hop.host)};proto=${quoteIfNeeded(hop.proto)}`;
  last = { clientAddress: hop.clientAddress, host: hop.host, proto: hop.proto, element };
  return element;
}

/**
 * RFC 7239 §6: an IPv6 node is bracketed, and since ':' and '[' are not token characters the
 * whole value is quoted: `for="[2001:db8::1]"`. IPv4 stays a bare token; no address at all
 * (a socket that already closed) is `unknown`.
 */
export function forwardedNode(address: string): string {
  if (address.length === 0) return 'unknown';
  if (address.includes(':')) return `"[${address}]"`;
  return quoteIfNeeded(address);
}

// RFC 9110 §5.6.2 tchar.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function quoteIfNeeded(value: string): string {
  if (TOKEN.test(value)) return value;
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
