// Options of the traffic analyzer (a fragment of the segmentation plugin's options, `analyzer`).
import { Type, type Static } from 'weaver';

const Ms = (def: number, description?: string) => Type.Integer({ minimum: 1, maximum: 7 * 86_400_000, default: def, ...(description ? { description } : {}) });

export const AnalyzerOptions = Type.Object(
  {
    windowMs: Ms(10_000, 'per-source window: connections, distinct destinations/ports/SNIs, error rates'),
    maxSources: Type.Integer({ minimum: 100, maximum: 10_000_000, default: 100_000, description: 'sources with a window (least recently seen dropped first)' }),
    maxFlowsPerSource: Type.Integer({ minimum: 16, maximum: 65_536, default: 2_048 }),
    scan: Type.Object(
      {
        distinctDestinations: Type.Integer({ minimum: 2, default: 30, description: 'distinct destinations (SNI/host/address) in one window' }),
        distinctPorts: Type.Integer({ minimum: 2, default: 20 }),
      },
      { additionalProperties: false, default: {} },
    ),
    handshakeFailures: Type.Object(
      {
        count: Type.Integer({ minimum: 1, default: 20, description: 'failed ClientHellos/handshakes in one window' }),
        rate: Type.Number({ minimum: 0, maximum: 1, default: 0.8, description: 'and at least this share of the window' }),
      },
      { additionalProperties: false, default: {} },
    ),
    baseline: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        minSamples: Type.Integer({ minimum: 10, default: 500, description: 'flows of a segment before its baseline scores anything' }),
        window: Type.Integer({ minimum: 100, maximum: 1_000_000, default: 20_000, description: 'recent flows per segment kept for training' }),
        perSourceCap: Type.Integer({ minimum: 1, default: 200, description: 'flows one source may contribute to a training window' }),
        trees: Type.Integer({ minimum: 10, maximum: 500, default: 100 }),
        sampleSize: Type.Integer({ minimum: 16, maximum: 4_096, default: 256 }),
        retrainIntervalMs: Ms(60_000),
        quantile: Type.Number({ minimum: 0.5, maximum: 0.99999, default: 0.995, description: 'threshold: this quantile of the scores of the training flows' }),
        seed: Type.Integer({ default: 1 }),
      },
      { additionalProperties: false, default: {} },
    ),
    supervised: Type.Object(
      {
        threshold: Type.Number({ minimum: 0.5, maximum: 1, default: 0.9, description: 'probability of malice at or above which a flow is reported' }),
        maxTrainingRows: Type.Integer({ minimum: 10, maximum: 1_000_000, default: 200_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    expiry: Type.Object(
      { lowMs: Ms(60_000), mediumMs: Ms(300_000), highMs: Ms(1_800_000) },
      { additionalProperties: false, default: {}, description: 'suggested lifetime of the isolate rule, by risk' },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type AnalyzerOptions = Static<typeof AnalyzerOptions>;
