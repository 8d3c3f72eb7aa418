// The bae plugin's options (validated by the core against this schema, defaults applied).
import { Type, type Static } from 'weaver';

const Weight = (def: number, description: string) => Type.Number({ minimum: 0, maximum: 1, default: def, description });

export const BaeOptions = Type.Object(
  {
    threshold: Type.Number({ minimum: 0, maximum: 1, default: 0.6, description: 'score at or above which a client goes to strictPool' }),
    rejectThreshold: Type.Number({ minimum: 0, maximum: 1, default: 0.9, description: 'score at or above which a client is refused' }),
    strictPool: Type.String({ default: 'strict', description: 'handshake pool for suspicious clients' }),
    /** Score and log, but never route or refuse (to try a threshold on live traffic). */
    observeOnly: Type.Boolean({ default: false }),
    lists: Type.Array(
      Type.Union([
        Type.String(),
        Type.Object({ file: Type.String(), label: Type.Optional(Type.Union([Type.Literal('bad'), Type.Literal('good')])) }, { additionalProperties: false }),
      ]),
      { default: [], description: 'JA3/JA4 list files (SSLBL CSV, ja4db JSON, JA4+ mapping CSV, plain); relative to the config file' },
    ),
    profiles: Type.Object(
      {
        max: Type.Integer({ minimum: 100, maximum: 10_000_000, default: 200_000, description: 'client profiles kept per table (address; address+JA4); each table sets aside 32–64 bytes per profile of max for its index at start' }),
        ttlMs: Type.Integer({ minimum: 1_000, default: 86_400_000, description: 'a profile unseen this long is dropped' }),
        saveIntervalMs: Type.Integer({ minimum: 100, default: 10_000, description: 'changed profiles are written to the store this often (those with something lasting new, see docs/plugins/bae.md), and all of them at stop' }),
      },
      { additionalProperties: false, default: {} },
    ),
    model: Type.Object(
      {
        minSamples: Type.Integer({ minimum: 10, default: 400, description: 'warm-up: no forest score until this many handshakes were seen' }),
        window: Type.Integer({ minimum: 100, default: 20_000, description: 'recent handshakes kept for training' }),
        perSourceCap: Type.Integer({ minimum: 1, default: 25, description: 'rows one source may contribute to a training set' }),
        trees: Type.Integer({ minimum: 10, maximum: 500, default: 100 }),
        sampleSize: Type.Integer({ minimum: 16, maximum: 4096, default: 256, description: 'rows per tree (ψ)' }),
        retrainIntervalMs: Type.Integer({ minimum: 100, default: 60_000 }),
        seed: Type.Integer({ default: 1 }),
        weight: Weight(0.55, 'how far the forest alone can push a score (below threshold: it needs another signal to route)'),
        driftThreshold: Type.Number({ exclusiveMinimum: 0, default: 2, description: 'retrain as soon as the mean forest score moved this many training standard deviations' }),
        driftMinScored: Type.Integer({ minimum: 1, default: 500, description: 'handshakes scored since the last training before drift counts' }),
        driftCooldownMs: Type.Integer({ minimum: 0, default: 30_000, description: 'time since the last training before drift counts (a training costs 50–150 ms of CPU)' }),
      },
      { additionalProperties: false, default: {} },
    ),
    signals: Type.Object(
      {
        floodPer10s: Type.Number({ minimum: 1, default: 40, description: 'handshakes from one source within ~10 s before it counts as a flood' }),
        burstPer1s: Type.Number({ minimum: 1, default: 12, description: 'handshakes from one source within ~1 s before it counts as a flood' }),
        dripReads: Type.Integer({ minimum: 2, default: 6, description: 'a hello taking more reads than this is dripped' }),
        slowHelloMs: Type.Integer({ minimum: 1, default: 1_500, description: 'a hello in several reads taking longer than this is slow' }),
        scannerWeakCiphers: Type.Integer({ minimum: 1, default: 3, description: 'NULL/EXPORT/anon/RC4/DES suites offered before a hello looks like a scanner' }),
        rotationSources: Type.Integer({ minimum: 2, default: 8, description: 'distinct sources in an hour for an unknown fingerprint without successful requests' }),
        lowEntropyBits: Type.Number({ minimum: 0, maximum: 5, default: 3.5, description: 'client random with fewer bits per byte than this is low-entropy' }),
        resumeFails: Type.Integer({ minimum: 1, default: 3, description: 'resumption attempts (session id, ticket, PSK) turned down, none accepted, before a client looks like it forges them' }),
        printSurgePer10s: Type.Number({ minimum: 1, default: 150, description: 'handshakes of one fingerprint within ~10 s before a surge can count' }),
        printSurgeRatio: Type.Number({ minimum: 1, default: 6, description: "…and how many times its own hour's average rate that must be" }),
      },
      { additionalProperties: false, default: {} },
    ),
    weights: Type.Object(
      {
        knownBad: Weight(0.97, 'a fingerprint on a bad list only'),
        ambiguous: Weight(0.3, 'on a bad list and a good list'),
        randomReuse: Weight(0.92, 'client random seen on another connection'),
        lowEntropy: Weight(0.6, 'client random with low byte entropy'),
        timePrefix: Weight(0.1, 'client random starting with the time'),
        drip: Weight(0.92, 'hello dripped over many reads'),
        slowHello: Weight(0.5, 'hello in several reads, slowly'),
        flood: Weight(0.75, 'at the flood rate; grows above it'),
        scanner: Weight(0.85, 'scanner-style cipher list'),
        uaMismatch: Weight(0.85, 'browser User-Agent over a non-browser TLS stack'),
        rotation: Weight(0.75, 'unknown fingerprint rotating over many sources'),
        history: Weight(0.8, "this client's own recent scores"),
        labelledBad: Weight(0.98, 'source or fingerprint labelled bad'),
        forgedResumption: Weight(0.7, 'resumption attempts the server keeps turning down'),
        certUnverified: Weight(0.65, 'a client certificate that does not verify, when one was asked for'),
        printSurge: Weight(0.4, "a fingerprint's handshake rate far above its own hour"),
      },
      { additionalProperties: false, default: {} },
    ),
    selection: Type.Object(
      {
        similarity: Type.Number({ minimum: 0, default: 0.5 }),
        reputation: Type.Number({ minimum: 0, default: 0.35 }),
        load: Type.Number({ minimum: 0, default: 0.15 }),
        /** Latency at which a good answer counts half. */
        latencyMs: Type.Integer({ minimum: 1, default: 500 }),
        /** Weight of one outcome in a server's reputation (EWMA). */
        alpha: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.2 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type BaeOptions = Static<typeof BaeOptions>;
