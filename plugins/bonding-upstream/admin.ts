// Admin routes under /api/plugins/<plugin>/:
//   GET  /sessions                                   every session, its channels and live metrics
//   POST /sessions/NAME/mode      {"mode": "…"}       edge: change the bonding mode
//   POST /sessions/NAME/weights   {"weights": {…}} | {"auto": true}
//   POST /sessions/NAME/channels/CH/drain|restore    edge: stop / resume new frames on a channel
// The core matches admin paths exactly, so the edge mounts one route per configured session and
// channel; the endpoint follows the edge's policy and only reports.
import type { AdminResponse, PluginApi } from 'weaver';
import type { EdgeSession } from './edge.ts';
import type { Endpoint } from './endpoint.ts';
import { MODES, type BondMode } from './options.ts';

const bad = (error: string): AdminResponse => ({ status: 400, body: { error } });

export function describeEdge(e: EdgeSession) {
  return { name: e.name, role: 'edge', established: e.paths.some((p) => p.channel !== undefined), ...e.session.describe() };
}

export function mountAdmin(api: PluginApi<unknown>, edges: readonly EdgeSession[], endpoint: Endpoint | undefined): void {
  api.admin.route('GET', '/sessions', () => {
    const sessions: unknown[] = edges.map(describeEdge);
    for (const es of endpoint?.sessions.values() ?? []) {
      sessions.push({ name: es.key, role: 'endpoint', established: es.session.paths.some((p) => p.channel !== undefined), ...es.session.describe() });
    }
    return { body: { sessions } };
  });

  for (const e of edges) {
    const base = `/sessions/${e.name}`;
    const changed = (): AdminResponse => {
      e.session.announce();
      return { body: describeEdge(e) };
    };
    api.admin.route('POST', `${base}/mode`, (req) => {
      const mode = (req.body as { mode?: unknown } | undefined)?.mode;
      if (!MODES.includes(mode as BondMode)) return bad(`mode must be one of ${MODES.join(', ')}`);
      e.session.applyPolicy({ ...e.session.policy(), mode: mode as BondMode });
      api.log.info({ session: e.name, mode }, 'bonding mode changed');
      return changed();
    });
    api.admin.route('POST', `${base}/weights`, (req) => {
      const body = (req.body ?? {}) as { weights?: unknown; auto?: unknown };
      const policy = e.session.policy();
      if (body.auto === true) policy.autoWeights = true;
      else if (typeof body.weights === 'object' && body.weights !== null) {
        for (const [name, w] of Object.entries(body.weights as Record<string, unknown>)) {
          const c = policy.channels[name];
          if (!c) return bad(`unknown channel "${name}"`);
          if (typeof w !== 'number' || !Number.isInteger(w) || w < 1 || w > 1000) return bad(`weight of "${name}" must be an integer 1..1000`);
          c.weight = w;
        }
        policy.autoWeights = false;
      } else return bad('give {"weights": {"CHANNEL": N}} or {"auto": true}');
      e.session.applyPolicy(policy);
      api.log.info({ session: e.name, auto: policy.autoWeights }, 'bonding weights changed');
      return changed();
    });
    for (const p of e.paths) {
      for (const action of ['drain', 'restore'] as const) {
        api.admin.route('POST', `${base}/channels/${p.name}/${action}`, () => {
          const policy = e.session.policy();
          policy.channels[p.name]!.draining = action === 'drain';
          e.session.applyPolicy(policy);
          api.log.info({ session: e.name, channel: p.name, action }, 'bonding channel drain changed');
          return changed();
        });
      }
    }
  }
}
