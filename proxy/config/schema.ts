// The configuration schema. TypeBox gives us the static type, the validator and the JSON Schema
// for editors (`npm run schema` writes schema/weaver.schema.json) from one definition.
import { Type, type Static } from '@sinclair/typebox';

const Ms = (def: number, description: string, max = 86_400_000) =>
  Type.Integer({ minimum: 0, maximum: max, default: def, description });

const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', maxLength: 64 });

export const LogSchema = Type.Object(
  {
    // Spelled out rather than mapped from an array, so the static type is pino's level union
    // and not plain string.
    level: Type.Union(
      [
        Type.Literal('fatal'),
        Type.Literal('error'),
        Type.Literal('warn'),
        Type.Literal('info'),
        Type.Literal('debug'),
        Type.Literal('trace'),
        Type.Literal('silent'),
      ],
      { default: 'info', description: 'pino log level' },
    ),
    accessLog: Type.Boolean({ default: true, description: 'one JSON line per proxied request' }),
  },
  { additionalProperties: false, default: {} },
);

export const HelloLimitsSchema = Type.Object(
  {
    maxBytes: Type.Integer({
      minimum: 512,
      maximum: 65_536,
      default: 16_384,
      description: 'largest ClientHello accepted, record headers included',
    }),
    timeoutMs: Ms(5_000, 'time from accept until the whole ClientHello must have arrived', 120_000),
  },
  { additionalProperties: false, default: {} },
);

export const ListenerSchema = Type.Object(
  {
    name: Name,
    address: Type.String({ default: '127.0.0.1', description: 'address to bind' }),
    port: Type.Integer({ minimum: 0, maximum: 65_535, description: '0 picks a free port' }),
    pool: Type.String({ default: 'primary', description: 'handshake pool used unless a plugin routes elsewhere' }),
    clientHello: HelloLimitsSchema,
    maxConnections: Type.Integer({ minimum: 1, default: 100_000, description: 'open connections on this listener' }),
  },
  { additionalProperties: false },
);

export const CertificateFilesSchema = Type.Object(
  {
    cert: Type.String({ description: 'PEM certificate chain file' }),
    key: Type.String({ description: 'PEM private key file' }),
    hosts: Type.Optional(
      Type.Array(Type.String(), { description: 'SNI names served; defaults to the names in the certificate' }),
    ),
  },
  { additionalProperties: false },
);

export const CertificateDevSchema = Type.Object(
  {
    dev: Type.Literal(true, { description: 'a development certificate, made on first run and cached in stateDir' }),
    hosts: Type.Array(Type.String(), { minItems: 1, default: ['localhost', '127.0.0.1', '::1'] }),
  },
  { additionalProperties: false },
);

export const CertificateSchema = Type.Union([CertificateFilesSchema, CertificateDevSchema]);

const TlsVersion = Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')]);

export const LocalPoolSchema = Type.Object(
  {
    kind: Type.Literal('local'),
    certificates: Type.Array(CertificateSchema, {
      minItems: 1,
      description: 'chosen by SNI; the first one is the default',
    }),
    unknownSni: Type.Union([Type.Literal('default'), Type.Literal('reject')], {
      default: 'default',
      description: 'what an SNI that no certificate names gets',
    }),
    minVersion: Type.Optional(TlsVersion),
    maxVersion: Type.Optional(TlsVersion),
    ciphers: Type.Optional(Type.String({ description: 'OpenSSL cipher list (TLS 1.2) and suites (TLS 1.3)' })),
    groups: Type.Optional(Type.String({ description: 'key exchange groups, colon separated (e.g. X25519:P-256)' })),
    alpn: Type.Array(Type.Union([Type.Literal('h2'), Type.Literal('http/1.1')]), {
      default: ['h2', 'http/1.1'],
      minItems: 1,
    }),
    clientCertificate: Type.Union([Type.Literal('none'), Type.Literal('request'), Type.Literal('require')], {
      default: 'none',
    }),
    clientCa: Type.Optional(Type.String({ description: 'PEM CA bundle that client certificates must chain to' })),
    handshakeTimeoutMs: Ms(10_000, 'a handshake not done by then is closed', 600_000),
    maxConcurrentHandshakes: Type.Integer({
      minimum: 1,
      default: 10_000,
      description: 'handshakes in progress at once; more are refused',
    }),
    delayMs: Ms(0, 'wait this long before answering the ClientHello (tarpit)', 60_000),
    sessionTickets: Type.Boolean({ default: true, description: 'TLS session resumption by ticket' }),
  },
  { additionalProperties: false },
);

export const RemotePoolSchema = Type.Object(
  {
    kind: Type.Literal('remote'),
    targets: Type.Array(
      Type.Object(
        {
          address: Type.String({ description: 'host:port of a remote TLS terminator' }),
          weight: Type.Integer({ minimum: 1, maximum: 1000, default: 1 }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
    connectTimeoutMs: Ms(5_000, 'connect timeout to a terminator', 120_000),
  },
  { additionalProperties: false },
);

export const PoolSchema = Type.Union([LocalPoolSchema, RemotePoolSchema]);

export const RouteSchema = Type.Object(
  {
    name: Type.Optional(Name),
    match: Type.Object(
      {
        host: Type.Optional(
          Type.Array(Type.String(), { description: 'exact names or *.suffix wildcards; absent = any host' }),
        ),
        pathPrefix: Type.String({ default: '/', pattern: '^/' }),
      },
      { additionalProperties: false, default: {} },
    ),
    upstream: Type.String({ description: 'name of an upstream pool' }),
  },
  { additionalProperties: false },
);

export const UpstreamServerSchema = Type.Object(
  {
    url: Type.String({ pattern: '^https?://', description: 'http://host:port or https://host:port' }),
    weight: Type.Integer({ minimum: 1, maximum: 1000, default: 1 }),
    labels: Type.Array(Type.String(), { default: [] }),
    via: Type.Optional(
      Type.String({
        pattern: '^[a-z][a-z0-9+.-]*:[A-Za-z0-9._~/-]+$',
        description:
          'carry this server\'s connections over the upstream transport a plugin registered, as <scheme>:<name> (e.g. bond:main for a bonding-upstream session); the URL is then the destination at the far end',
      }),
    ),
  },
  { additionalProperties: false },
);

export const HealthCheckSchema = Type.Object(
  {
    path: Type.String({ default: '/', pattern: '^/', description: 'HTTP path probed with GET on each server, on a connection of its own' }),
    intervalMs: Type.Integer({
      minimum: 10,
      maximum: 3_600_000,
      default: 5_000,
      description: 'time between probes of one server, ±10% jitter; the first probe runs within min(intervalMs, 1 s) of the start',
    }),
    timeoutMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 2_000, description: 'a probe not answered (headers and body) by then fails' }),
    healthyThreshold: Type.Integer({ minimum: 1, maximum: 100, default: 2, description: 'passing probes in a row to mark a server healthy' }),
    unhealthyThreshold: Type.Integer({ minimum: 1, maximum: 100, default: 3, description: 'failing probes in a row to mark it unhealthy' }),
    expectStatus: Type.String({ default: '200-399', pattern: '^\\d{3}(-\\d{3})?(,\\d{3}(-\\d{3})?)*$', description: 'statuses that pass, e.g. "200-299,404"' }),
  },
  {
    additionalProperties: false,
    description: 'active health checks; servers start healthy and leave rotation after unhealthyThreshold failed probes; absent = healthy unless ejected',
  },
);

export const OutlierDetectionSchema = Type.Object(
  {
    consecutive5xx: Type.Integer({
      minimum: 0,
      default: 5,
      description: 'ejects after this many 5xx answers, resets or response timeouts in a row (0 = off)',
    }),
    consecutiveConnectFailures: Type.Integer({ minimum: 0, default: 3, description: 'ejects after this many connect failures in a row (0 = off)' }),
    baseEjectionMs: Ms(10_000, 'ejection time = this × the server\'s ejection count; the count drops by one per baseEjectionMs back in rotation', 3_600_000),
    maxEjectionMs: Ms(300_000, 'longest ejection', 86_400_000),
    maxEjectedPercent: Type.Integer({
      minimum: 0,
      maximum: 100,
      default: 50,
      description: 'at most floor(servers × this / 100) servers of a pool are ejected at once',
    }),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'passive outlier ejection from live traffic; with healthCheck, an ejected server must also pass healthyThreshold probes to return',
  },
);

export const RetrySchema = Type.Object(
  {
    attempts: Type.Integer({ minimum: 0, maximum: 10, default: 2, description: 'extra tries of an idempotent request, each on a server not tried yet (0 = off)' }),
    budgetPercent: Type.Integer({
      minimum: 0,
      maximum: 100,
      default: 20,
      description: 'retries over the last 10 s may reach this share of the requests over the same 10 s',
    }),
    minRetriesPerSecond: Type.Integer({
      minimum: 0,
      default: 10,
      description: 'the budget never falls below this × 10 retries per 10 s, however few the requests',
    }),
    on: Type.Array(
      Type.Union([Type.Literal('connect-failure'), Type.Literal('reset'), Type.Literal('timeout'), Type.Literal('502'), Type.Literal('503'), Type.Literal('504')]),
      {
        default: ['connect-failure', 'reset', '503'],
        description: 'what makes a request retryable: no connection, a connection lost before the response, no response head in time, or these statuses',
      },
    ),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'retries of idempotent requests (GET, HEAD, OPTIONS, PUT, DELETE, TRACE) without a body, never once the response has started',
  },
);

export const UpstreamSchema = Type.Object(
  {
    servers: Type.Array(UpstreamServerSchema, { minItems: 1 }),
    balance: Type.Union([Type.Literal('round-robin'), Type.Literal('least-request'), Type.Literal('p2c-ewma')], {
      default: 'round-robin',
      description:
        'smooth weighted round robin; fewest requests in flight per unit of weight; or two servers drawn by weight, the lower latency (EWMA) × (in flight + 1) wins',
    }),
    healthCheck: Type.Optional(HealthCheckSchema),
    outlierDetection: OutlierDetectionSchema,
    retries: RetrySchema,
    http2: Type.Boolean({ default: false, description: 'speak HTTP/2 to these servers (h2 over TLS)' }),
    connections: Type.Integer({ minimum: 1, default: 128, description: 'connections per server' }),
    connectTimeoutMs: Ms(5_000, 'TCP/TLS connect timeout', 120_000),
    headersTimeoutMs: Ms(30_000, 'time to the response headers; then 504'),
    bodyTimeoutMs: Ms(300_000, 'idle time between response body chunks'),
    keepAliveTimeoutMs: Ms(4_000, 'idle upstream connections are closed after this'),
    tlsInsecure: Type.Boolean({ default: false, description: 'accept any upstream certificate (tests only)' }),
  },
  { additionalProperties: false },
);

export const PluginEntrySchema = Type.Object(
  {
    use: Type.String({ description: 'a path (./my-plugin.ts) or a package name' }),
    name: Type.Optional(Name),
    enabled: Type.Boolean({ default: true }),
    timeoutMs: Ms(200, 'time budget of one async hook call', 60_000),
    failure: Type.Union([Type.Literal('open'), Type.Literal('closed')], {
      default: 'open',
      description: 'open: log and carry on; closed: reject the connection or request',
    }),
    options: Type.Unknown({ default: {} }),
  },
  { additionalProperties: false },
);

export const HttpSchema = Type.Object(
  {
    maxHeaderBytes: Type.Integer({ minimum: 1024, maximum: 1_048_576, default: 16_384 }),
    headersTimeoutMs: Ms(20_000, 'time for a client to send request headers', 600_000),
    requestTimeoutMs: Ms(300_000, 'time for a client to send a whole request'),
    keepAliveTimeoutMs: Ms(5_000, 'idle client connections are closed after this', 600_000),
    maxRequestsPerConnection: Type.Integer({ minimum: 0, default: 0, description: '0 = unlimited' }),
    maxConcurrentStreams: Type.Integer({ minimum: 1, maximum: 10_000, default: 128, description: 'HTTP/2' }),
    maxBodyBytes: Type.Integer({ minimum: 0, default: 0, description: 'request body limit; 0 = unlimited' }),
    trustForwarded: Type.Boolean({
      default: false,
      description: 'keep X-Forwarded-* from the client and append to it',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const AdminSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    address: Type.String({ default: '127.0.0.1' }),
    port: Type.Integer({ minimum: 0, maximum: 65_535, default: 9901 }),
    token: Type.Optional(
      Type.String({ minLength: 16, description: 'bearer token; required when address is not loopback' }),
    ),
  },
  { additionalProperties: false, default: {} },
);

export const DemoOriginSchema = Type.Object(
  {
    address: Type.String({ default: '127.0.0.1' }),
    port: Type.Integer({ minimum: 0, maximum: 65_535, default: 8081 }),
  },
  { additionalProperties: false, description: 'a small built-in origin for the first run and demos' },
);

export const StoreSchema = Type.Object(
  {
    file: Type.String({ default: 'weaver.db', description: 'SQLite file of plugin state, relative to stateDir' }),
    snapshotIntervalMs: Type.Integer({
      minimum: 100,
      maximum: 3_600_000,
      default: 30_000,
      description: 'changed plugin state is written to the file this often (and on stop)',
    }),
  },
  { additionalProperties: false, default: {}, description: 'the state store plugins get as api.store' },
);

export const ConfigSchema = Type.Object(
  {
    stateDir: Type.String({ default: '.weaver', description: 'dev certificates and plugin state, relative to the config file' }),
    workers: Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 1, maximum: 256 })], {
      default: 'auto',
      description: 'worker processes sharing the listeners; auto = one per core',
    }),
    drainTimeoutMs: Ms(10_000, 'on SIGTERM or when a reload retires a runtime, in-flight requests get this long', 600_000),
    log: LogSchema,
    listeners: Type.Array(ListenerSchema, { minItems: 1 }),
    handshakePools: Type.Record(Type.String(), PoolSchema, { description: 'must hold every pool a listener names' }),
    routes: Type.Array(RouteSchema, { default: [] }),
    upstreams: Type.Record(Type.String(), UpstreamSchema, { default: {} }),
    plugins: Type.Array(PluginEntrySchema, { default: [] }),
    http: HttpSchema,
    admin: AdminSchema,
    store: StoreSchema,
    demoOrigin: Type.Optional(DemoOriginSchema),
  },
  { additionalProperties: false, $id: 'https://weaver.invalid/weaver.schema.json', title: 'Weaver configuration' },
);

export type WeaverConfig = Static<typeof ConfigSchema>;
export type ListenerConfig = Static<typeof ListenerSchema>;
export type LocalPoolConfig = Static<typeof LocalPoolSchema>;
export type RemotePoolConfig = Static<typeof RemotePoolSchema>;
export type PoolConfig = Static<typeof PoolSchema>;
export type RouteConfig = Static<typeof RouteSchema>;
export type UpstreamConfig = Static<typeof UpstreamSchema>;
export type HealthCheckConfig = Static<typeof HealthCheckSchema>;
export type OutlierDetectionConfig = Static<typeof OutlierDetectionSchema>;
export type RetryConfig = Static<typeof RetrySchema>;
export type BalancePolicy = UpstreamConfig['balance'];
export type PluginEntryConfig = Static<typeof PluginEntrySchema>;
export type HttpConfig = Static<typeof HttpSchema>;
export type AdminConfig = Static<typeof AdminSchema>;
export type StoreConfig = Static<typeof StoreSchema>;
export type CertificateConfig = Static<typeof CertificateSchema>;
