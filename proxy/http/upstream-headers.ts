// The header set of the request Weaver sends upstream, built from the client's raw headers so
// repeated fields stay repeated. What changes on the way (in this order): hop-by-hop fields go,
// Host becomes the client's authority (as nginx's `proxy_set_header Host $host` would), the
// forwarding headers describe this hop, x-request-id is ours, and last what plugins asked for
// in `upstreamHeaders` (a value sets, undefined removes).
import type { OutgoingHttpHeaders } from 'node:http';
import { FORWARDED_HEADERS, forwardedHeaders, type ForwardedHop, type IncomingForwarded } from './forwarded.ts';
import { connectionListed, isHopByHop, teTrailers } from './hop-by-hop.ts';

export type HeaderMap = Record<string, string | string[]>;

export interface UpstreamHeaderInput {
  /** `[name, value, name, value…]` as node received them. */
  readonly rawHeaders: readonly string[];
  /** The client's Connection header, whose listed names are hop-by-hop too. */
  readonly connection: string | string[] | undefined;
  readonly te: string | string[] | undefined;
  /** HTTP/2 splits Cookie into one field per crumb; an HTTP/1.1 hop needs them as one. */
  readonly fromH2: boolean;
  readonly trustForwarded: boolean;
  readonly hop: ForwardedHop;
  readonly requestId: string;
  readonly overrides: OutgoingHttpHeaders;
}

/**
 * Never forwarded although end-to-end: node already answered `Expect: 100-continue` to the
 * client, and undici refuses to send it.
 */
const CONSUMED = new Set(['host', 'x-request-id', 'expect']);

export function upstreamRequestHeaders(input: UpstreamHeaderInput): HeaderMap {
  const listed = connectionListed(input.connection);
  const out: HeaderMap = Object.create(null) as HeaderMap;
  let incoming: IncomingForwarded | undefined;
  const raw = input.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (isHopByHop(name, listed) || CONSUMED.has(name)) continue;
    if (FORWARDED_HEADERS.has(name)) {
      if (input.trustForwarded) {
        const key = name as keyof IncomingForwarded;
        incoming ??= {};
        incoming[key] = incoming[key] === undefined ? value : `${incoming[key]}, ${value}`;
      }
      continue;
    }
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (name === 'cookie' && input.fromH2) out[name] = `${prev as string}; ${value}`;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  if (teTrailers(input.te)) out.te = 'trailers';
  forwardedHeaders(input.hop, incoming, out);
  out.host = input.hop.host;
  out['x-request-id'] = input.requestId;
  applyOverrides(out, input.overrides);
  return out;
}

export function applyOverrides(out: HeaderMap, overrides: OutgoingHttpHeaders): void {
  for (const key in overrides) {
    const name = key.toLowerCase();
    const value = overrides[key];
    if (value === undefined) delete out[name];
    else out[name] = Array.isArray(value) ? value.map(String) : String(value);
  }
}
