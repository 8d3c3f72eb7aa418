// Admin routes under /api/plugins/segmentation/:
//   GET    /rules?origin=O&limit=N      rules (config, API, feeds, analyzer), best first
//   POST   /rules                       add one rule → 201 { rule }
//   PUT    /rules?id=ID                 replace one rule (not a config rule)
//   DELETE /rules?id=ID                 delete one rule (not a config rule)
//   GET    /segments[?name=S&limit=N]   segments with posture and entry counts; with name, its entries
//   POST   /entries                     { segment, kind, value } add one list entry
//   DELETE /entries?segment=&kind=&value=  delete one list entry
//   POST   /evaluate                    dry-run of a flow → decision and the deciding rule
//   GET    /export?format=nft           the nftables ruleset of the current policy
//   GET    /flows                       live flows held for re-evaluation
//   GET    /feeds                       each feed: source, entries, last load, last error
//   POST   /feeds/refresh?name=F        load feed F now
//   GET    /analyzer[?source=A]         baselines per segment; with source, A's current window
//   POST   /analyzer/train              { flows: [{ flow, malicious }] } train the supervised model
// A bad request gets 400 with { code, error } and changes nothing.
import { Value } from '@sinclair/typebox/value';
import { Type, type AdminRequest, type AdminResponse, type PluginApi, type Static } from 'weaver';
import type { LabelledFlow, TrafficAnalyzer } from './analyzer/analyzer.ts';
import type { Controller } from './controller.ts';
import type { FeedLoader } from './intel/loader.ts';
import { exportNft } from './nft.ts';
import { SegmentationError, describeRule, outranks, type Flow } from './policy.ts';

const Str = Type.String({ minLength: 1, maxLength: 512 });
export const FlowSchema = Type.Object(
  {
    src: Str,
    dst: Type.Optional(Str),
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    sni: Type.Optional(Str),
    host: Type.Optional(Str),
    ja4: Type.Optional(Str),
    ja3: Type.Optional(Str),
    identities: Type.Optional(Type.Array(Str, { maxItems: 64 })),
    tags: Type.Optional(Type.Record(Type.String({ maxLength: 128 }), Type.Union([Type.String({ maxLength: 512 }), Type.Number(), Type.Boolean()]), { maxProperties: 64 })),
    route: Type.Optional(Str),
    upstream: Type.Optional(Str),
  },
  { additionalProperties: false },
);

const STATUS: Record<string, number> = {
  WEAVER_ERR_SEG_RULE: 400,
  WEAVER_ERR_SEG_ENTRY: 400,
  WEAVER_ERR_SEG_NOT_FOUND: 404,
  WEAVER_ERR_SEG_READONLY: 409,
  WEAVER_ERR_SEG_LIMIT: 409,
};

const bad = (error: string): AdminResponse => ({ status: 400, body: { code: 'WEAVER_ERR_SEG_REQUEST', error } });
const notFound = (error: string): AdminResponse => ({ status: 404, body: { code: 'WEAVER_ERR_SEG_NOT_FOUND', error } });

function guarded(fn: (req: AdminRequest) => AdminResponse): (req: AdminRequest) => AdminResponse {
  return (req) => {
    try {
      return fn(req);
    } catch (err) {
      if (err instanceof SegmentationError) return { status: STATUS[err.code] ?? 400, body: { code: err.code, error: err.message } };
      throw err;
    }
  };
}

function limit(q: URLSearchParams, def: number, max: number): number {
  const n = Number(q.get('limit') ?? def);
  return Number.isInteger(n) && n > 0 ? Math.min(n, max) : def;
}

/** The flow described in a dry-run, as the engine sees it once every phase has passed. */
export function flowFromBody(body: unknown): Flow | string {
  if (!Value.Check(FlowSchema, body)) {
    const e = Value.Errors(FlowSchema, body).First();
    return `flow${e?.path ? e.path.replace(/\//g, '.') : ''}: ${e?.message ?? 'invalid'}`;
  }
  const b = body as Static<typeof FlowSchema>;
  return { ...b, sni: b.sni?.toLowerCase(), host: b.host?.toLowerCase(), ja4: b.ja4?.toLowerCase(), ja3: b.ja3?.toLowerCase(), stage: 3 };
}

export function mountAdmin(api: PluginApi<unknown>, ctl: Controller, parts: { feeds: FeedLoader; analyzer: TrafficAnalyzer }): void {
  const who = (req: AdminRequest): string => `admin:${req.caller}`;
  const id = (req: AdminRequest): string => {
    const v = req.query.get('id');
    if (!v) throw new SegmentationError('WEAVER_ERR_SEG_RULE', 'id is required (?id=…)');
    return v;
  };

  api.admin.route('GET', '/rules', (req) => {
    const origin = req.query.get('origin');
    const all = [...ctl.engine.rules.values()].filter((r) => !origin || r.origin === origin || r.origin.startsWith(`${origin}:`));
    all.sort((a, b) => (outranks(a, b) ? -1 : 1));
    return { body: { total: all.length, rules: all.slice(0, limit(req.query, 1_000, 100_000)).map(describeRule) } };
  });
  api.admin.route('POST', '/rules', guarded((req) => ({ status: 201, body: { rule: describeRule(ctl.addRule(req.body, who(req))) } })));
  api.admin.route('PUT', '/rules', guarded((req) => ({ body: { rule: describeRule(ctl.changeRule(id(req), req.body, who(req))) } })));
  api.admin.route('DELETE', '/rules', guarded((req) => ({ body: { deleted: describeRule(ctl.deleteRule(id(req), who(req))) } })));

  api.admin.route('GET', '/segments', (req) => {
    const name = req.query.get('name');
    if (name) {
      const seg = ctl.engine.segment(name);
      if (!seg) return notFound(`no segment named "${name}"`);
      const entries = [...seg.entries.values()].slice(0, limit(req.query, 1_000, 1_000_000)).map((e) => ({ ...e, addedAt: new Date(e.addedAt).toISOString() }));
      return { body: { name, posture: seg.posture, counts: seg.counts, entries } };
    }
    return { body: [...ctl.engine.segments.values()].map((s) => ({ name: s.name, posture: s.posture, counts: s.counts })) };
  });
  api.admin.route('POST', '/entries', guarded((req) => {
    const b = (req.body ?? {}) as { segment?: unknown; kind?: unknown; value?: unknown };
    if (typeof b.segment !== 'string') return bad('segment is required');
    const added = ctl.addEntry(b.segment, b.kind, b.value, who(req));
    return { status: added ? 201 : 200, body: { added } };
  }));
  api.admin.route('DELETE', '/entries', guarded((req) => {
    const q = req.query;
    const segment = q.get('segment');
    if (!segment) return bad('segment is required');
    const deleted = ctl.deleteEntry(segment, q.get('kind'), q.get('value'), who(req));
    return deleted ? { body: { deleted } } : notFound('no such entry');
  }));

  api.admin.route('POST', '/evaluate', (req) => {
    const flow = flowFromBody(req.body);
    if (typeof flow === 'string') return bad(flow);
    const d = ctl.engine.evaluate(flow);
    const segments = ctl.engine.segmentsOf(flow);
    return {
      body: { decision: d.verdict, by: d.by, rule: d.rule ? describeRule(d.rule) : null, flags: d.flags.map((r) => r.id), segments },
    };
  });

  api.admin.route('GET', '/export', (req) => {
    const format = req.query.get('format') ?? 'nft';
    if (format !== 'nft') return bad('format must be nft');
    return { headers: { 'content-type': 'text/plain; charset=utf-8' }, body: exportNft(ctl.engine) };
  });

  api.admin.route('GET', '/flows', () => ({ body: { live: ctl.flows.size } }));

  api.admin.route('GET', '/feeds', () => ({ body: parts.feeds.status() }));
  api.admin.route('POST', '/feeds/refresh', async (req) => {
    const name = req.query.get('name');
    if (!name) return bad('name is required (?name=…)');
    if (!parts.feeds.status().some((f) => f.name === name)) return notFound(`no feed named "${name}"`);
    return { body: await parts.feeds.refresh(name) };
  });

  api.admin.route('GET', '/analyzer', (req) => {
    const source = req.query.get('source');
    return { body: { baselines: parts.analyzer.baselineStatus(), ...(source ? { source, window: parts.analyzer.windowOf(source) ?? null } : {}) } };
  });
  api.admin.route('POST', '/analyzer/train', (req) => {
    const flows = (req.body as { flows?: unknown } | undefined)?.flows;
    if (!Array.isArray(flows) || flows.length === 0) return bad('flows must be a non-empty array of { flow, malicious }');
    if (!flows.every((f) => typeof f === 'object' && f !== null && typeof (f as LabelledFlow).malicious === 'boolean' && typeof (f as LabelledFlow).flow?.source === 'string')) {
      return bad('each item is { flow: FlowRecord, malicious: boolean }');
    }
    try {
      parts.analyzer.trainSupervised(flows as LabelledFlow[]);
    } catch (err) {
      return bad(`training failed: ${(err as Error).message}`);
    }
    return { body: { trained: flows.length } };
  });
}
