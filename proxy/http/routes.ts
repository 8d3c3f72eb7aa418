// The router, compiled once per config. Hosts are tried most specific first: the exact name,
// then wildcards from the longest suffix down, then routes with no host. Within each, the
// longest path prefix wins (config order breaks ties). A host whose routes have no prefix that
// fits falls through to the less specific hosts, as if the routes were one list sorted by
// specificity.
//
// Host matching is case-insensitive and ignores the port and a trailing dot. `*.example.com`
// matches one label or more (`a.example.com`, `a.b.example.com`) but not `example.com` itself.
// A prefix matches on a segment boundary: `/api` matches `/api`, `/api/` and `/api/x`, never
// `/apix`; a prefix ending in `/` matches what starts with it.
import type { RouteConfig } from '../config/schema.ts';

export interface Route {
  /** The route's configured name, or `route<index>` in config order. */
  readonly name: string;
  readonly upstream: string;
  readonly pathPrefix: string;
}

interface Compiled extends Route {
  readonly index: number;
}

export class Router {
  private readonly exact = new Map<string, Compiled[]>();
  /** Keyed by the suffix with its leading dot: `.example.com`. */
  private readonly wildcard = new Map<string, Compiled[]>();
  private readonly anyHost: Compiled[] = [];

  constructor(routes: readonly RouteConfig[]) {
    routes.forEach((r, index) => {
      const route: Compiled = { name: r.name ?? `route${index}`, upstream: r.upstream, pathPrefix: r.match.pathPrefix, index };
      const hosts = r.match.host;
      if (hosts === undefined || hosts.length === 0) {
        this.anyHost.push(route);
        return;
      }
      for (const pattern of hosts) {
        const host = normalizeHost(pattern);
        if (host.startsWith('*.')) add(this.wildcard, host.slice(1), route);
        else add(this.exact, host, route);
      }
    });
    for (const list of this.exact.values()) list.sort(bySpecificity);
    for (const list of this.wildcard.values()) list.sort(bySpecificity);
    this.anyHost.sort(bySpecificity);
  }

  /** `host` as normalizeHost returns it; `path` without its query string. */
  match(host: string, path: string): Route | undefined {
    const exact = this.exact.get(host);
    if (exact) {
      const hit = firstPrefix(exact, path);
      if (hit) return hit;
    }
    if (this.wildcard.size > 0) {
      // Each dot starts a shorter suffix; the first dot gives the longest, most specific one.
      for (let dot = host.indexOf('.'); dot > 0; dot = host.indexOf('.', dot + 1)) {
        const list = this.wildcard.get(host.slice(dot));
        if (!list) continue;
        const hit = firstPrefix(list, path);
        if (hit) return hit;
      }
    }
    return firstPrefix(this.anyHost, path);
  }
}

/** Lowercase, no port, no trailing dot; an IPv6 literal keeps its brackets. */
export function normalizeHost(authority: string): string {
  let host = authority;
  if (host.charCodeAt(0) === 91 /* [ */) {
    const end = host.indexOf(']');
    host = end === -1 ? host : host.slice(0, end + 1);
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host.toLowerCase();
}

export function prefixMatches(prefix: string, path: string): boolean {
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || prefix.endsWith('/') || path.charCodeAt(prefix.length) === 47; /* / */
}

function firstPrefix(list: readonly Compiled[], path: string): Compiled | undefined {
  for (let i = 0; i < list.length; i++) {
    if (prefixMatches(list[i]!.pathPrefix, path)) return list[i];
  }
  return undefined;
}

function bySpecificity(a: Compiled, b: Compiled): number {
  return b.pathPrefix.length - a.pathPrefix.length || a.index - b.index;
}

function add(map: Map<string, Compiled[]>, key: string, route: Compiled): void {
  const list = map.get(key);
  if (list) list.push(route);
  else map.set(key, [route]);
}
