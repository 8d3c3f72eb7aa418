// A plugin's metrics live in the core registry under `weaver_<plugin>_…`, so names never clash
// and one scrape shows everything. Asking twice for the same metric returns the same one, which
// keeps a plugin reloadable.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { MetricSpec, PluginMetrics } from './types.ts';

function metricName(plugin: string, name: string): string {
  return `weaver_${plugin}_${name}`.replace(/[^a-zA-Z0-9_:]/g, '_');
}

export function createPluginMetrics(plugin: string, registry: Registry): PluginMetrics {
  function existing<M>(name: string): M | undefined {
    return registry.getSingleMetric(name) as M | undefined;
  }
  return {
    counter<L extends string>(spec: MetricSpec<L>) {
      const name = metricName(plugin, spec.name);
      return existing<Counter<L>>(name) ?? new Counter<L>({ name, help: spec.help, labelNames: spec.labelNames ?? [], registers: [registry] });
    },
    gauge<L extends string>(spec: MetricSpec<L>) {
      const name = metricName(plugin, spec.name);
      return existing<Gauge<L>>(name) ?? new Gauge<L>({ name, help: spec.help, labelNames: spec.labelNames ?? [], registers: [registry] });
    },
    histogram<L extends string>(spec: MetricSpec<L> & { buckets?: number[] }) {
      const name = metricName(plugin, spec.name);
      return (
        existing<Histogram<L>>(name) ??
        new Histogram<L>({
          name,
          help: spec.help,
          labelNames: spec.labelNames ?? [],
          ...(spec.buckets ? { buckets: spec.buckets } : {}),
          registers: [registry],
        })
      );
    },
  };
}
