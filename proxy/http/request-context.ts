// The per-request record: what plugins see as RequestContext, plus the few things the core
// carries between phases. One object per request; the logger child is only made if asked for.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { Connection } from '../connection.ts';
import type { RequestContext, UpstreamCandidate } from '../plugin/types.ts';
import type { UpstreamPool } from '../upstream/pool.ts';
import type { Router } from './routes.ts';
import type { UpstreamRegistry } from '../upstream/registry.ts';

/** The routing a request started with: a reload in the middle of it does not change it. */
export interface RoutingTable {
  readonly router: Router;
  readonly upstreams: UpstreamRegistry;
}

export interface RequestInit {
  readonly id: string;
  readonly connection: Connection;
  readonly method: string;
  readonly url: string;
  readonly authority: string;
  readonly host: string;
  readonly httpVersion: string;
  readonly headers: IncomingHttpHeaders;
  readonly routing: RoutingTable;
}

export class ProxyRequest implements RequestContext {
  readonly id: string;
  readonly connection: Connection;
  readonly method: string;
  readonly url: string;
  /** Normalized: lowercase, no port. */
  readonly host: string;
  /** As the client sent it (Host or :authority), port included: the upstream's Host. */
  readonly authority: string;
  readonly httpVersion: string;
  readonly headers: IncomingHttpHeaders;
  readonly upstreamHeaders: OutgoingHttpHeaders = {};
  route: string | undefined = undefined;
  upstream: string | undefined = undefined;
  readonly startedAt = Date.now();
  readonly startedMark = performance.now();
  readonly routing: RoutingTable;
  pool: UpstreamPool | undefined = undefined;
  /** The server that answered (or was tried), for the access log. */
  candidate: UpstreamCandidate | undefined = undefined;
  /** Upstream exchanges started: more than one when the request was retried. */
  attempts = 0;
  status = 0;
  bytes = 0;
  /** The client's side is closed: the response finished or the client left. */
  finished = false;
  /** Counted and logged. */
  ended = false;
  private logger: Logger | undefined;

  constructor(init: RequestInit) {
    this.id = init.id;
    this.connection = init.connection;
    this.method = init.method;
    this.url = init.url;
    this.authority = init.authority;
    this.host = init.host;
    this.httpVersion = init.httpVersion;
    this.headers = init.headers;
    this.routing = init.routing;
  }

  get log(): Logger {
    return (this.logger ??= this.connection.log.child({ req: this.id }));
  }

  /** Path without the query string: what routes match and what logs may show. */
  get path(): string {
    const q = this.url.indexOf('?');
    return q === -1 ? this.url : this.url.slice(0, q);
  }

  /** What a plugin logging the context gets: the public fields, not the core's internals. */
  toJSON(): Record<string, unknown> {
    return {
      id: this.id,
      connection: this.connection.id,
      method: this.method,
      path: this.path,
      host: this.host,
      httpVersion: this.httpVersion,
      route: this.route,
      upstream: this.upstream,
      startedAt: this.startedAt,
    };
  }
}
