// Options of the threat-intel feeds (a fragment of the segmentation plugin's options, `intel`).
import { Type, type Static } from 'weaver';
import { FEED_FORMATS } from './parse.ts';

export const FeedConfig = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$', description: 'unique; rules from it are attributed to "feed:<name>"' }),
    path: Type.Optional(Type.String({ minLength: 1, description: 'a file, relative to the config file' })),
    url: Type.Optional(Type.String({ minLength: 1, description: 'http(s); loopback only unless allowRemoteUrls' })),
    format: Type.Union([Type.Literal('auto'), ...FEED_FORMATS.map((f) => Type.Literal(f))], { default: 'auto' }),
    action: Type.Union([Type.Literal('deny'), Type.Literal('flag')], { default: 'deny' }),
    refreshMs: Type.Integer({ minimum: 1_000, default: 3_600_000 }),
    timeoutMs: Type.Integer({ minimum: 100, maximum: 300_000, default: 10_000, description: 'one fetch, headers and body' }),
    maxBytes: Type.Integer({ minimum: 1, maximum: 256 * 1024 * 1024, default: 32 * 1024 * 1024 }),
  },
  { additionalProperties: false },
);
export type FeedConfig = Static<typeof FeedConfig>;

export const IntelOptions = Type.Object(
  {
    feeds: Type.Array(FeedConfig, { default: [], maxItems: 100 }),
    allowRemoteUrls: Type.Boolean({ default: false, description: 'fetch feed URLs that are not loopback' }),
    downgradeBenignJa3: Type.Boolean({ default: true, description: 'a listed JA3 that benign software also has is flagged, never denied' }),
    benignJa3: Type.Array(Type.String(), { default: [], description: 'more benign JA3 lists (paths); the bundled list is always read' }),
  },
  { additionalProperties: false, default: {} },
);
export type IntelOptions = Static<typeof IntelOptions>;
