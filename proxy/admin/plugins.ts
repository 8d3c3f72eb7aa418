// What /api/plugins shows: each loaded plugin of the current runtime, the phases it hooks and
// the admin routes it mounted.
import type { Runtime } from '../runtime.ts';

export function describePlugins(rt: Runtime): unknown {
  const phases = rt.hooks.phases();
  return rt.plugins.map((p) => ({
    name: p.owner.name,
    version: p.definition.version,
    source: p.source,
    failure: p.owner.failure,
    timeoutMs: p.owner.timeoutMs,
    phases: Object.entries(phases)
      .filter(([, names]) => names.includes(p.owner.name))
      .map(([phase]) => phase),
    routes: rt.adminRoutes.list().filter((r) => r.plugin === p.owner.name),
  }));
}
