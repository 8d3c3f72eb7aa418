// The compiled forms the engine works on — segments, rules, flows, decisions — and the check
// that turns a rule as written (config or API) into a compiled rule or a clear error.
import { Value } from '@sinclair/typebox/value';
import { WeaverError, type TagValue } from 'weaver';
import { parsePrefix, type Address, type Prefix } from './address.ts';
import { RuleSchema, type Action, type RuleInput } from './options.ts';

export class SegmentationError extends WeaverError {
  constructor(code: 'WEAVER_ERR_SEG_RULE' | 'WEAVER_ERR_SEG_ENTRY' | 'WEAVER_ERR_SEG_NOT_FOUND' | 'WEAVER_ERR_SEG_READONLY' | 'WEAVER_ERR_SEG_LIMIT', message: string) {
    super(code, message);
    this.name = 'SegmentationError';
  }
}

export const ENTRY_KINDS = ['cidr', 'host', 'identity', 'ja4', 'ja3', 'tag'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

/** Who made a rule or an entry: `config`, an admin caller (`admin:<token id>`), `feed:<name>`, `analyzer`. */
export type Origin = string;

export interface Entry {
  kind: EntryKind;
  /** Normalized value (the key within its kind). */
  value: string;
  origin: Origin;
  addedAt: number;
}

export interface Segment {
  readonly kind: 'segment';
  readonly name: string;
  posture: 'allow-list' | 'deny-list';
  /** `${kind}|${value}` → entry. */
  readonly entries: Map<string, Entry>;
  /** `posture:<name>`, what a refusal by this segment's posture is reported as. */
  readonly by: string;
  /** Kinds of source-side entries, to know which phases can still change membership. */
  readonly counts: Record<EntryKind, number>;
  // Per-evaluation marks (the evaluation epoch that found it), so membership needs no Set.
  src: number;
  dst: number;
  dstByAddress: number;
}

export interface Rule {
  readonly kind: 'rule';
  readonly id: string;
  /** `rule:<id>`, what a decision by this rule is reported as. */
  readonly by: string;
  readonly input: RuleInput;
  readonly action: Action;
  readonly priority: number;
  readonly fromSegment: Segment | undefined;
  readonly fromPrefix: Prefix | undefined;
  readonly toSegment: Segment | undefined;
  readonly toUpstream: string | undefined;
  readonly toRoute: string | undefined;
  readonly toPort: number | undefined;
  /** Epoch ms; 0 = never. */
  readonly expiresAt: number;
  readonly origin: Origin;
  readonly createdAt: number;
  /** Insertion order, the last tie-break (older first). */
  readonly seq: number;
}

/**
 * What is known about a flow. `stage` says which fields are known yet: 0 at accept (addresses,
 * port), 1 after the ClientHello (sni, ja4, ja3), 2 after the handshake (identities, tags),
 * 3 at a request (host, route, upstream). A field past the stage is unknown, not absent.
 */
export interface Flow {
  src: string;
  dst?: string;
  port?: number;
  sni?: string;
  ja4?: string;
  ja3?: string;
  identities?: readonly string[];
  tags?: Readonly<Record<string, TagValue>>;
  host?: string;
  route?: string;
  upstream?: string;
  stage: 0 | 1 | 2 | 3;
  /** The source's first segment at the last evaluation (set by the plugin, for flow records). */
  segment?: string;
  /** The parsed source address (null: not an address), cached on the flow by the engine. */
  srcAddr?: Address | null;
  /** What the trie held for the source, at the engine's address version `srcVersion`. */
  srcHits?: Array<Segment | Rule>;
  srcVersion?: number;
}

export type Verdict = 'allow' | 'deny';

export interface Decision {
  /** `pending`: a later phase's fields can still change the outcome. */
  verdict: Verdict | 'pending';
  /** The deciding rule; undefined when a posture or the default decided. */
  rule: Rule | undefined;
  /** `rule:<id>`, `posture:<segment>` or `default`. */
  by: string;
  /** flag rules that matched. */
  flags: Rule[];
  /** The first segment the source belongs to (flow records, access log tag). */
  segment: string | undefined;
}

export const severity = (a: Action): number => (a === 'deny' || a === 'isolate' ? 1 : 0);
export const verdictOf = (a: Action): Verdict => (a === 'allow' ? 'allow' : 'deny');

/** True when `a` outranks `b`: higher priority, then deny/isolate over allow, then older. */
export function outranks(a: Rule, b: Rule | undefined): boolean {
  if (!b) return true;
  if (a.priority !== b.priority) return a.priority > b.priority;
  const sa = severity(a.action);
  const sb = severity(b.action);
  if (sa !== sb) return sa > sb;
  return a.seq < b.seq;
}

export function normalizeEntry(kind: EntryKind, raw: string): string {
  const v = raw.trim();
  if (!v || v.length > 512) throw new SegmentationError('WEAVER_ERR_SEG_ENTRY', `${kind} entry must be 1–512 characters`);
  switch (kind) {
    case 'cidr': {
      const p = parsePrefix(v);
      if (!p) throw new SegmentationError('WEAVER_ERR_SEG_ENTRY', `"${v}" is not an IPv4/IPv6 address or prefix`);
      return p.text;
    }
    case 'host':
      if (!/^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/i.test(v)) throw new SegmentationError('WEAVER_ERR_SEG_ENTRY', `"${v}" is not a host name or *.suffix pattern`);
      return v.toLowerCase().replace(/\.$/, '');
    case 'identity':
      return normalizeIdentity(v);
    case 'ja3':
      if (!/^[0-9a-f]{32}$/i.test(v)) throw new SegmentationError('WEAVER_ERR_SEG_ENTRY', `"${v}" is not a JA3 hash (32 hex digits)`);
      return v.toLowerCase();
    case 'ja4':
      if (!/^[tqd][0-9a-z]{9}_[0-9a-f]{12}_[0-9a-f]{12}$/i.test(v)) throw new SegmentationError('WEAVER_ERR_SEG_ENTRY', `"${v}" is not a JA4 fingerprint`);
      return v.toLowerCase();
    case 'tag':
      return v;
  }
}

/** Certificate fingerprints are compared as lowercase hex without colons; names as given. */
export function normalizeIdentity(v: string): string {
  return /^([0-9a-f]{2}:){31}[0-9a-f]{2}$/i.test(v) || /^[0-9a-f]{64}$/i.test(v) ? v.replace(/:/g, '').toLowerCase() : v;
}

export interface RuleContext {
  segment(name: string): Segment | undefined;
  nextSeq(): number;
  now: number;
}

/** Validates a rule as written and compiles it; throws SegmentationError naming the problem. */
export function compileRule(raw: unknown, origin: Origin, ctx: RuleContext, fallbackId: () => string): Rule {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new SegmentationError('WEAVER_ERR_SEG_RULE', 'a rule is a JSON object');
  const input = Value.Default(RuleSchema, structuredClone(raw)) as RuleInput;
  const first = Value.Errors(RuleSchema, input).First();
  if (first) {
    const where = first.path ? first.path.slice(1).replace(/\//g, '.') : 'rule';
    throw new SegmentationError('WEAVER_ERR_SEG_RULE', `${where}: ${first.message}${first.path ? '' : ''}`);
  }
  const fromSegment = resolveSegment(input.from?.segment, 'from.segment', ctx);
  const toSegment = resolveSegment(input.to?.segment, 'to.segment', ctx);
  let fromPrefix: Prefix | undefined;
  if (input.from?.cidr !== undefined) {
    fromPrefix = parsePrefix(input.from.cidr);
    if (!fromPrefix) throw new SegmentationError('WEAVER_ERR_SEG_RULE', `from.cidr: "${input.from.cidr}" is not an IPv4/IPv6 address or prefix`);
  }
  if (fromSegment && fromPrefix) throw new SegmentationError('WEAVER_ERR_SEG_RULE', 'from: give a segment or a cidr, not both');
  let expiresAt = 0;
  if (input.expiresAt !== undefined) {
    expiresAt = Date.parse(input.expiresAt);
    if (!Number.isFinite(expiresAt)) throw new SegmentationError('WEAVER_ERR_SEG_RULE', `expiresAt: "${input.expiresAt}" is not a date-time`);
  }
  if (input.ttlMs !== undefined) {
    if (input.expiresAt !== undefined) throw new SegmentationError('WEAVER_ERR_SEG_RULE', 'give expiresAt or ttlMs, not both');
    expiresAt = ctx.now + input.ttlMs;
    input.expiresAt = new Date(expiresAt).toISOString();
    delete input.ttlMs;
  }
  const id = input.id ?? fallbackId();
  input.id = id;
  return {
    kind: 'rule',
    id,
    by: `rule:${id}`,
    input,
    action: input.action,
    priority: input.priority,
    fromSegment,
    fromPrefix,
    toSegment,
    toUpstream: input.to?.upstream,
    toRoute: input.to?.route,
    toPort: input.to?.port,
    expiresAt,
    origin,
    createdAt: ctx.now,
    seq: ctx.nextSeq(),
  };
}

function resolveSegment(name: string | undefined, where: string, ctx: RuleContext): Segment | undefined {
  if (name === undefined) return undefined;
  const s = ctx.segment(name);
  if (!s) throw new SegmentationError('WEAVER_ERR_SEG_RULE', `${where}: no segment named "${name}"`);
  return s;
}

/** The rule as the API shows it. */
export function describeRule(r: Rule): Record<string, unknown> {
  return { ...r.input, origin: r.origin, createdAt: new Date(r.createdAt).toISOString() };
}
