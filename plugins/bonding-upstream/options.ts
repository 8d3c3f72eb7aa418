// The bonding-upstream plugin's options (validated by the core against this schema, defaults
// applied). One entry may hold an edge section, an endpoint section, or both.
import { Type, type Static } from 'weaver';

const Ms = (def: number, min: number, max: number, description: string) => Type.Integer({ minimum: min, maximum: max, default: def, description });
const Bytes = (def: number, description: string) => Type.Integer({ minimum: 65_536, maximum: 1_073_741_824, default: def, description });
const Name = Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' });
const Pins = Type.Array(Type.String({ pattern: '^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$' }), {
  default: [],
  description: 'SHA-256 fingerprints of the peer certificate (as `openssl x509 -fingerprint -sha256` prints them)',
});
const CertFiles = Type.Array(Type.String(), { default: [], description: 'PEM certificate files whose fingerprints are pinned too; relative to the config file' });

export const ProbeOptions = Type.Object(
  {
    intervalMs: Ms(200, 10, 60_000, 'a PING on every channel this often'),
    downAfterMs: Ms(800, 50, 600_000, 'nothing heard on a channel for this long: it is down (a blackholed path)'),
    degradedRttMs: Ms(0, 0, 600_000, 'smoothed RTT above this: degraded (0 = never)'),
    degradedLoss: Type.Number({ minimum: 0, maximum: 1, default: 0.2, description: 'share of the last 20 probes unanswered above which a channel is degraded' }),
  },
  { additionalProperties: false, default: {} },
);

const Windows = {
  frameBytes: Type.Integer({ minimum: 1024, maximum: 1_048_576, default: 32_768, description: 'most stream bytes in one DATA frame' }),
  streamWindowBytes: Bytes(4_194_304, 'per-stream receive credit: what one stream may have buffered here'),
  sessionWindowBytes: Bytes(16_777_216, 'receive credit of the whole session (all streams)'),
  stallTimeoutMs: Ms(60_000, 0, 3_600_000, 'a stream with bytes to send or unacked that moves nothing this long is reset (0 = never)'),
};

export const ChannelOptions = Type.Object(
  {
    name: Name,
    local: Type.Optional(Type.String({ description: 'address to bind the channel to (chooses the path)' })),
    remote: Type.String({ pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[^:\\s]+):\\d{1,5}$', description: 'endpoint address:port' }),
    weight: Type.Integer({ minimum: 1, maximum: 1000, default: 1, description: 'weighted mode: share of the frames' }),
    cost: Type.Number({ minimum: 0.01, maximum: 1000, default: 1, description: 'weighted mode with autoWeights: a higher cost lowers the weight' }),
    priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, description: 'active-standby: lowest is the primary (default: list order)' })),
  },
  { additionalProperties: false },
);

export const Mode = Type.Union([Type.Literal('active-active'), Type.Literal('active-standby'), Type.Literal('weighted')]);
export type BondMode = Static<typeof Mode>;
export const MODES: readonly BondMode[] = ['active-active', 'active-standby', 'weighted'];

export const SessionOptions = Type.Object(
  {
    name: { ...Name, description: 'an upstream server uses this session with `via: bond:NAME`' },
    mode: { ...Mode, default: 'active-active', description: 'active-active | active-standby | weighted' },
    peerPins: Pins,
    peerCertificates: CertFiles,
    channels: Type.Array(ChannelOptions, { minItems: 1, maxItems: 16 }),
    autoWeights: Type.Boolean({ default: false, description: 'weighted mode: weights from measured delivery rate and RTT, divided by cost' }),
    failbackMs: Ms(3_000, 0, 3_600_000, 'active-standby: the primary must be up this long before traffic returns to it'),
    connectTimeoutMs: Ms(3_000, 100, 120_000, 'TCP + TLS + hello of one channel'),
    reconnect: Type.Object(
      { minMs: Ms(100, 10, 60_000, 'first retry delay'), maxMs: Ms(5_000, 10, 600_000, 'longest retry delay') },
      { additionalProperties: false, default: {} },
    ),
    ...Windows,
    probe: ProbeOptions,
  },
  { additionalProperties: false },
);

export const EdgeOptions = Type.Object(
  {
    certificate: Type.String({ description: 'PEM certificate this edge shows the endpoint' }),
    key: Type.String({ description: 'PEM private key of that certificate' }),
    sessions: Type.Array(SessionOptions, { minItems: 1, maxItems: 64, description: 'bonded sessions' }),
  },
  { additionalProperties: false },
);

export const EndpointOptions = Type.Object(
  {
    listen: Type.Array(Type.String({ pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[^:\\s]+):\\d{1,5}$' }), { minItems: 1, description: 'address:port to accept channels on' }),
    certificate: Type.String(),
    key: Type.String(),
    peers: Type.Array(Type.Object({ name: Name, pins: Pins, certificates: CertFiles }, { additionalProperties: false }), { minItems: 1 }),
    allow: Type.Array(Type.String({ pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[^:\\s]+):(\\d{1,5}|\\*)$' }), {
      default: [],
      description: 'destinations streams may open, host:port (port may be *); everything else is refused',
    }),
    connectTimeoutMs: Ms(5_000, 100, 120_000, 'TCP connect to a destination'),
    maxSessions: Type.Integer({ minimum: 1, maximum: 10_000, default: 64 }),
    maxStreams: Type.Integer({ minimum: 1, maximum: 100_000, default: 1024, description: 'open streams per session' }),
    sessionIdleMs: Ms(30_000, 1_000, 86_400_000, 'a session with no channel for this long is dropped'),
    ...Windows,
    probe: ProbeOptions,
  },
  { additionalProperties: false },
);

export const BondingOptions = Type.Object(
  {
    edge: Type.Optional(EdgeOptions),
    endpoint: Type.Optional(EndpointOptions),
  },
  { additionalProperties: false },
);

export type BondingOptionsT = Static<typeof BondingOptions>;
export type EdgeOptionsT = Static<typeof EdgeOptions>;
export type EndpointOptionsT = Static<typeof EndpointOptions>;
export type SessionOptionsT = Static<typeof SessionOptions>;
export type ChannelOptionsT = Static<typeof ChannelOptions>;
export type ProbeOptionsT = Static<typeof ProbeOptions>;
