// The plugin's admin routes, under /api/plugins/bae/:
//   GET  /explain?addr=A      features, score and reasons of A's last handshake, its profiles
//   POST /feedback            { address | ja4 | ja3, label: good | bad | none } 
//   GET  /profiles?limit=N    most recently seen client profiles
//   GET  /fingerprints?limit= top fingerprints by handshakes with their hour signals
//   GET  /model               model status: state, trained at, samples, threshold, drift
//   POST /retrain             retrain the model now (in the background); 202
//   GET  /histogram           score histogram and decisions per action and pool
//   GET  /decisions?limit=N   the latest decisions (newest last)
//   GET  /servers             data-server reputation per profile class
//   GET  /lists               list files loaded and sizes
import type { AdminResponse, PluginApi } from 'weaver';
import type { Engine } from './engine.ts';
import type { BaeOptions } from './options.ts';
import { saveLabel } from './persist.ts';
import { keyOf } from './profile-table.ts';
import { describeProfile, LABEL_NAMES } from './profiles.ts';

function limit(q: URLSearchParams, def: number, max: number): number {
  const n = Number(q.get('limit') ?? def);
  return Number.isInteger(n) && n > 0 ? Math.min(n, max) : def;
}

const bad = (error: string): AdminResponse => ({ status: 400, body: { error } });

export function mountAdmin(api: PluginApi<BaeOptions>, engine: Engine): void {
  const o = api.options;

  api.admin.route('GET', '/explain', (req) => {
    const addr = req.query.get('addr');
    if (!addr) return bad('addr is required');
    const profile = engine.addresses.peek(keyOf(addr));
    const last = engine.decisions.explain(addr, profile?.note);
    if (!profile && !last) return { status: 404, body: { error: `no profile and no recent decision for ${addr}` } };
    const clients: Record<string, unknown> = {};
    for (const [k, p] of engine.clients.entries()) if (k.startsWith(`${addr}|`)) clients[k.slice(addr.length + 1)] = describeProfile(p);
    return {
      body: {
        address: addr,
        thresholds: { threshold: o.threshold, rejectThreshold: o.rejectThreshold, strictPool: o.strictPool, observeOnly: o.observeOnly },
        label: LABEL_NAMES[engine.label('addr', addr)],
        profile: profile ? describeProfile(profile) : null,
        fingerprints: clients,
        lastDecision: last ?? null,
      },
    };
  });

  api.admin.route('POST', '/feedback', async (req) => {
    const body = (req.body ?? {}) as { address?: unknown; ja4?: unknown; ja3?: unknown; label?: unknown };
    const label = body.label;
    if (label !== 'good' && label !== 'bad' && label !== 'none') return bad('label must be good, bad or none');
    const targets: Array<['addr' | 'ja4' | 'ja3', string]> = [];
    if (typeof body.address === 'string' && body.address) targets.push(['addr', body.address]);
    if (typeof body.ja4 === 'string' && body.ja4) targets.push(['ja4', body.ja4]);
    if (typeof body.ja3 === 'string' && body.ja3) targets.push(['ja3', body.ja3.toLowerCase()]);
    if (targets.length === 0) return bad('give an address, a ja4 or a ja3');
    const applied = [];
    for (const [kind, value] of targets) {
      applied.push(engine.feedback(kind, value, label));
      await saveLabel(api.store, kind, value, engine.label(kind, value));
    }
    api.log.info({ applied, caller: req.caller }, 'bae feedback');
    return { body: { applied } };
  });

  api.admin.route('GET', '/profiles', (req) => {
    const n = limit(req.query, 100, 10_000);
    const out = [];
    for (const [addr, p] of engine.addresses.recent(n)) out.push({ address: addr, ...describeProfile(p) });
    return { body: { addresses: engine.addresses.size, clients: engine.clients.size, profiles: out } };
  });

  api.admin.route('GET', '/fingerprints', (req) => {
    const now = Date.now();
    const top = engine.prints.top(limit(req.query, 50, 1_000), now).map((s) => ({ ...s, list: engine.lists.lookup(s.ja4) ?? null, label: LABEL_NAMES[engine.label('ja4', s.ja4)] }));
    return { body: { fingerprints: engine.prints.size, top } };
  });

  api.admin.route('GET', '/model', () => ({
    body: { ...engine.model.status(), threshold: o.threshold, rejectThreshold: o.rejectThreshold, trees: o.model.trees, sampleSize: o.model.sampleSize },
  }));

  api.admin.route('POST', '/retrain', () => {
    const started = engine.retrain('admin');
    started?.catch((err: unknown) => api.log.warn({ err }, 'bae: training failed'));
    return { status: 202, body: { started: started !== undefined, samples: engine.model.samples } };
  });

  api.admin.route('GET', '/histogram', () => ({ body: engine.pending.tallies.describe(engine.routing) }));

  api.admin.route('GET', '/decisions', (req) => ({ body: engine.decisions.recent(limit(req.query, 100, 5_000)) }));

  api.admin.route('GET', '/servers', () => ({ body: engine.reputation.describe() }));

  api.admin.route('GET', '/lists', () => ({ body: { loaded: engine.lists.loaded, sizes: engine.lists.sizes } }));
}
