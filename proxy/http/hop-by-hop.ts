// Headers that describe one connection, not the message, never cross the proxy (RFC 9110
// §7.6.1): the fixed connection-specific set plus whatever the Connection header names.
// HTTP/2 forbids all of them outright (RFC 9113 §8.2.2), so this is also what keeps an
// HTTP/1.1 upstream's response legal for an h2 client.

const FIXED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  // Credentials and challenges meant for a proxy: Weaver does no proxy authentication, so they
  // would only leak to (or come from) the origin.
  'proxy-authorization',
  'proxy-authenticate',
]);

/** Lowercased names the Connection header lists, or undefined when it lists nothing. */
export function connectionListed(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const joined = typeof value === 'string' ? value : value.join(',');
  let out: Set<string> | undefined;
  for (const part of joined.split(',')) {
    const name = part.trim().toLowerCase();
    if (name.length === 0) continue;
    (out ??= new Set()).add(name);
  }
  return out;
}

/** `name` must be lowercase. Pseudo-headers (`:path`…) count: they belong to one h2 hop. */
export function isHopByHop(name: string, listed: ReadonlySet<string> | undefined): boolean {
  return FIXED.has(name) || name.charCodeAt(0) === 58 /* ':' */ || (listed !== undefined && listed.has(name));
}

/** TE may cross only as `trailers` (RFC 9110 §10.1.4; the one value h2 allows). */
export function teTrailers(value: string | string[] | undefined): boolean {
  if (value === undefined) return false;
  const joined = typeof value === 'string' ? value : value.join(',');
  return joined.split(',').some((p) => p.split(';')[0]!.trim().toLowerCase() === 'trailers');
}

/** A copy of `headers` (lowercase names) without the hop-by-hop ones. */
export function endToEnd<T>(headers: Readonly<Record<string, T>>): Record<string, T> {
  const listed = connectionListed(headers.connection as string | string[] | undefined);
  const out: Record<string, T> = Object.create(null) as Record<string, T>;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || isHopByHop(name, listed)) continue;
    out[name] = value;
  }
  return out;
}
