// The contract between the core and every plugin, ours and third parties'. In the spirit of
// Pingora's ProxyHttp: one object whose phases are all optional (absent = do nothing, and a
// phase no plugin implements costs nothing), plus typed contexts that carry per-connection state.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { TSchema, Static } from '@sinclair/typebox';
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { Logger } from 'pino';
import type { ClientHello, Fingerprints, HelloArrival } from '../clienthello/types.ts';
import type { PluginStore } from '../store/types.ts';
import type { UpstreamTransport } from '../upstream/transports.ts';

export type TagValue = string | number | boolean;

export interface ConnectionContext {
  /** Unique within the process; appears in every log line of this connection. */
  readonly id: string;
  readonly listener: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** Epoch ms of the TCP accept. */
  readonly acceptedAt: number;
  /** Tags plugins set (`bae.score`, `segment`…); they reach the access log and later phases. */
  readonly tags: Readonly<Record<string, TagValue>>;
  tag(key: string, value: TagValue): void;
  readonly log: Logger;
  /**
   * Set once the ClientHello has been read; parsed on first access when no plugin registered
   * onClientHello, and undefined if the bytes do not parse (TLS then refuses the handshake).
   */
  readonly hello: HelloInfo | undefined;
  /** Set once the handshake is done. */
  readonly tls: HandshakeInfo | undefined;
  /** The handshake pool that took (or will take) the handshake. */
  readonly pool: string | undefined;
  /** Close the connection now (used to cut live flows a new rule forbids). */
  cut(reason: string): void;
  readonly closed: boolean;
}

export interface HelloInfo extends Fingerprints {
  readonly parsed: ClientHello;
  readonly arrival: HelloArrival;
  readonly sni: string | undefined;
  readonly alpn: readonly string[];
  /**
   * One TLS stack's configuration as an opaque number, to memoise per-stack work on (a Map
   * key): hellos that differ only in per-connection values (random, session id, key-share and
   * PSK bytes, padding, GREASE values, extension order) get the same id, different shapes never
   * share one. Ids are interned in a bounded table: after a spray of new shapes fills it, a
   * shape seen before may get a new id (ids are never reused). 0: not keyed (a hello too large,
   * or crafted to collide): do the work without memoising.
   */
  readonly shape: number;
}

export interface HandshakeInfo {
  /** 'TLSv1.3', 'TLSv1.2' … */
  readonly protocol: string;
  readonly cipher: string;
  readonly alpn: string | false;
  readonly servername: string | undefined;
  readonly resumed: boolean;
  /** ms from the end of the ClientHello to the end of the handshake. */
  readonly durationMs: number;
  readonly clientCertificate: ClientCertificateInfo | undefined;
}

export interface ClientCertificateInfo {
  readonly subject: string;
  readonly issuer: string;
  readonly fingerprint256: string;
  readonly authorized: boolean;
  readonly authorizationError: string | undefined;
  readonly subjectAltName: string | undefined;
}

export interface RequestContext {
  readonly id: string;
  readonly connection: ConnectionContext;
  readonly method: string;
  /** Path and query as received. */
  readonly url: string;
  readonly host: string;
  /** '1.1' or '2.0'. */
  readonly httpVersion: string;
  readonly headers: IncomingHttpHeaders;
  /** Headers added to (or, with undefined, removed from) the upstream request. */
  readonly upstreamHeaders: OutgoingHttpHeaders;
  readonly route: string | undefined;
  readonly upstream: string | undefined;
  readonly startedAt: number;
  readonly log: Logger;
}

export interface UpstreamCandidate {
  /** The server's URL origin, e.g. http://127.0.0.1:8081. */
  readonly id: string;
  readonly url: string;
  readonly weight: number;
  readonly labels: readonly string[];
  /** Requests in flight to this server now. */
  readonly inflight: number;
  /** Smoothed response-header latency in ms (0 until measured). */
  readonly latencyMs: number;
  /**
   * Live: false while active health checks fail. Candidates handed to onUpstreamSelect are
   * always healthy and not ejected; these matter for a candidate kept from an earlier request.
   */
  readonly healthy: boolean;
  /** Live: true while outlier detection keeps the server out of rotation. */
  readonly ejected: boolean;
}

export interface ResponseInfo {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The server that answered, or undefined for a response made by Weaver. */
  readonly upstream: UpstreamCandidate | undefined;
  /** ms from the request to the response headers. */
  readonly durationMs: number;
}

export type Direction = 'in' | 'out';

export interface CloseSummary {
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly durationMs: number;
  readonly requests: number;
  /** ok | rejected | hello_error | handshake_error | timeout | cut | error */
  readonly outcome: string;
  readonly error: string | undefined;
}

// ---- decisions -------------------------------------------------------------------------------

export type ContinueDecision = { action: 'continue' };
export type RejectDecision = { action: 'reject'; reason: string; status?: number };
export type RouteDecision = { action: 'route'; pool: string };
export type PassthroughDecision = { action: 'passthrough'; upstream: string };
export type DelayDecision = { action: 'delay'; ms: number };
export type RespondDecision = {
  action: 'respond';
  status: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
};

export type ConnectionDecision = ContinueDecision | RejectDecision | DelayDecision;
export type HelloDecision = ContinueDecision | RejectDecision | RouteDecision | PassthroughDecision | DelayDecision;
export type HandshakeDecision = ContinueDecision | RejectDecision | DelayDecision;
export type RequestDecision = ContinueDecision | RejectDecision | RespondDecision | DelayDecision;
export type AnyDecision = ConnectionDecision | HelloDecision | HandshakeDecision | RequestDecision;

type MaybePromise<T> = T | PromiseLike<T>;

/** Every phase is optional. Return nothing to pass; return a decision to act. */
export interface PluginHooks {
  onConnection?(conn: ConnectionContext): MaybePromise<ConnectionDecision | void>;
  onClientHello?(conn: ConnectionContext, hello: HelloInfo): MaybePromise<HelloDecision | void>;
  onHandshakeDone?(conn: ConnectionContext, tls: HandshakeInfo): MaybePromise<HandshakeDecision | void>;
  onRequest?(req: RequestContext): MaybePromise<RequestDecision | void>;
  /** Pick one candidate, return them ranked (best first), or return nothing. */
  onUpstreamSelect?(
    req: RequestContext,
    candidates: readonly UpstreamCandidate[],
  ): MaybePromise<UpstreamCandidate | readonly UpstreamCandidate[] | void>;
  onResponse?(req: RequestContext, res: ResponseInfo): MaybePromise<void>;
  /**
   * Every chunk that crosses the client connection, both ways, synchronously. Registering this
   * puts a JS stream between the socket and TLS for every connection: a real cost.
   */
  onPacket?(conn: ConnectionContext, chunk: Uint8Array, direction: Direction): 'cut' | void;
  onClose?(conn: ConnectionContext, summary: CloseSummary): MaybePromise<void>;
}

export type PhaseName = keyof PluginHooks;

// ---- what a plugin gets at setup -------------------------------------------------------------

export interface AdminRequest {
  readonly method: string;
  /** Path below the plugin's mount point, e.g. `/explain`. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON body (bounded in size), or undefined. */
  readonly body: unknown;
  /** The admin token's id when the request was authenticated, 'loopback' otherwise. */
  readonly caller: string;
}

export interface AdminResponse {
  status?: number;
  headers?: Record<string, string>;
  /** Serialized as JSON unless it is a string (sent as text/plain). */
  body?: unknown;
}

export type AdminHandler = (req: AdminRequest) => MaybePromise<AdminResponse>;

export interface PluginAdmin {
  /** Mounted at `/api/plugins/<plugin>/<path>` on the admin listener. */
  route(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, handler: AdminHandler): void;
}

export interface MetricSpec<L extends string> {
  /** Prefixed with `weaver_<plugin>_`. */
  name: string;
  help: string;
  labelNames?: readonly L[];
}

export interface PluginMetrics {
  counter<L extends string = string>(spec: MetricSpec<L>): Counter<L>;
  gauge<L extends string = string>(spec: MetricSpec<L>): Gauge<L>;
  histogram<L extends string = string>(spec: MetricSpec<L> & { buckets?: number[] }): Histogram<L>;
}

export interface PluginUpstreamTransports {
  /** Throws WEAVER_ERR_UPSTREAM_TRANSPORT when another plugin holds the scheme. Removed on stop. */
  register(scheme: string, transport: UpstreamTransport): void;
}

export interface PluginApi<O> {
  readonly name: string;
  readonly options: O;
  readonly log: Logger;
  readonly metrics: PluginMetrics;
  readonly admin: PluginAdmin;
  /** Names of the configured handshake pools, for route decisions. */
  readonly pools: readonly string[];
  /** Absolute path of a directory this plugin may keep files in. */
  readonly stateDir: string;
  /** Directory of the config file, to resolve paths given in the plugin's options. */
  readonly configDir: string;
  /**
   * Key/value state of this plugin (a namespace of its own), kept across restarts: in memory,
   * snapshotted to SQLite under stateDir. Async, so a shared backend can stand behind it.
   */
  readonly store: PluginStore;
  /**
   * Upstream transports: `register('bond', t)` makes every upstream server with `via: bond:NAME`
   * get its connections from `t.connect(target, 'NAME')` instead of a TCP connect. A `via` whose
   * scheme no plugin registers fails the config load (WEAVER_ERR_UPSTREAM_TRANSPORT).
   */
  readonly upstreamTransports: PluginUpstreamTransports;
  /** A per-connection slot for this plugin, created on first use, gone with the connection. */
  connectionState<T extends object>(init: (conn: ConnectionContext) => T): (conn: ConnectionContext) => T;
  /** Runs when Weaver stops or the plugin is unloaded. */
  onStop(fn: () => MaybePromise<void>): void;
}

export interface PluginDefinition<S extends TSchema = TSchema> {
  readonly name: string;
  readonly version?: string;
  /** JSON Schema (TypeBox) of the plugin's `options`; defaults from it are applied. */
  readonly options?: S;
  setup(api: PluginApi<Static<S>>): MaybePromise<PluginHooks | void>;
}
