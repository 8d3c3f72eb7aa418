// The segmentation plugin's options, and the shape of one rule (the same schema checks rules
// from the config and rules sent to the admin API).
import { Type, type Static } from 'weaver';
import { AnalyzerOptions } from './analyzer/options.ts';
import { IntelOptions } from './intel/options.ts';

const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$' });
const Strings = (description: string) => Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { maxItems: 1_000_000, description }));

export const SegmentSchema = Type.Object(
  {
    cidrs: Strings('member addresses: IPv4/IPv6 prefixes or single addresses (source and destination side)'),
    hosts: Strings('destination names: exact or *.suffix, matched against the SNI (or the Host header without SNI)'),
    identities: Strings('client-certificate identities of members: subject CN, a subjectAltName value, or the SHA-256 fingerprint'),
    ja4: Strings('JA4 fingerprints of members'),
    ja3: Strings('JA3 hashes of members'),
    tags: Strings('connection tags of members, "key=value" or "key" (e.g. bae.class=bot)'),
    posture: Type.Optional(Type.Union([Type.Literal('deny-list'), Type.Literal('allow-list')], {
      description: 'allow-list: a flow into this segment is refused unless its source is a member or a rule allows it; deny-list (the default): allowed unless a rule denies it',
    })),
  },
  { additionalProperties: false },
);

export const ACTIONS = ['allow', 'deny', 'isolate', 'flag'] as const;
export type Action = (typeof ACTIONS)[number];

export const RuleSchema = Type.Object(
  {
    id: Type.Optional(Name),
    from: Type.Optional(
      Type.Object(
        { segment: Type.Optional(Name), cidr: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
        { additionalProperties: false, description: 'the source; absent = any' },
      ),
    ),
    to: Type.Optional(
      Type.Object(
        {
          segment: Type.Optional(Name),
          upstream: Type.Optional(Name),
          route: Type.Optional(Name),
          port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
        },
        { additionalProperties: false, description: 'the destination; absent = any' },
      ),
    ),
    action: Type.Union(ACTIONS.map((a) => Type.Literal(a)), { description: 'allow, deny, isolate (deny except into the source\'s own segments), flag (tag seg.flag, decide nothing)' }),
    priority: Type.Integer({ minimum: -1_000_000, maximum: 1_000_000, default: 0, description: 'higher wins; on a tie deny/isolate win over allow' }),
    expiresAt: Type.Optional(Type.String({ maxLength: 40, description: 'ISO time after which the rule no longer applies' })),
    ttlMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 31_536_000_000, description: 'API shorthand for expiresAt = now + ttlMs' })),
    reason: Type.String({ maxLength: 500, default: '' }),
    risk: Type.Optional(Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high')])),
  },
  { additionalProperties: false },
);
export type RuleInput = Static<typeof RuleSchema>;

export const SegmentationOptions = Type.Object(
  {
    segments: Type.Record(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$' }), SegmentSchema, { default: {} }),
    rules: Type.Array(RuleSchema, { default: [], maxItems: 1_000_000 }),
    cutLiveFlows: Type.Boolean({ default: true, description: 'cut open connections that a changed rule now forbids' }),
    maxRules: Type.Integer({ minimum: 1, default: 500_000, description: 'rules held at most (config, API, analyzer)' }),
    maxEntries: Type.Integer({ minimum: 1, default: 2_000_000, description: 'list entries across segments (config, feed and API entries all count) past which POST /entries is refused' }),
    sweepIntervalMs: Type.Integer({ minimum: 50, default: 1_000, description: 'how often expired rules are removed' }),
    intel: IntelOptions,
    feedPriority: Type.Integer({ minimum: -1_000_000, maximum: 1_000_000, default: 0, description: 'priority of the rules feeds make' }),
    analyzer: AnalyzerOptions,
    isolation: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'turn the analyzer\'s anomalies into isolate rules' }),
        priority: Type.Integer({ minimum: -1_000_000, maximum: 1_000_000, default: 1_000 }),
        minRisk: Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high')], { default: 'low' }),
      },
      { additionalProperties: false, default: {} },
    ),
    audit: Type.Object(
      {
        file: Type.String({ default: 'segmentation-audit.jsonl', description: 'relative to the state directory' }),
        maxBytes: Type.Integer({ minimum: 4_096, default: 16 * 1024 * 1024, description: 'rotate the file past this size' }),
        keep: Type.Integer({ minimum: 1, default: 10, description: 'rotated files kept' }),
        denyIntervalMs: Type.Integer({ minimum: 100, default: 10_000, description: 'denied flows are written once per source and rule per interval, with a count' }),
        maxDenyKeys: Type.Integer({ minimum: 10, default: 10_000, description: 'distinct source+rule pairs held per interval; more are counted under source "*"' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);
export type SegmentationOptions = Static<typeof SegmentationOptions>;
export type SegmentConfig = Static<typeof SegmentSchema>;
