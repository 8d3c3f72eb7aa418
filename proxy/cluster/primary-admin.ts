// The admin API as a cluster primary answers it: /metrics summed over the workers, everything
// the primary does not hold itself (/api/config, /api/plugins, /api/upstreams, plugin routes)
// asked of the workers over IPC.
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';
import type { AdminCall, AdminReply } from '../admin/handler.ts';
import type { WorkerPool } from './workers.ts';

const ADMIN_CALL_MS = 30_000;
const METRICS_CALL_MS = 5_000;

type WorkerMetrics = Array<MetricObjectWithValues<MetricValue<string>>>;

/**
 * Ready workers only, over our own calls rather than prom-client's clusterMetrics(): that one
 * asks every connected worker, and a worker still booting (just replaced) cannot answer yet, which
 * stalls the scrape for 5 s and then fails it. A worker that dies mid-scrape is left out.
 * AggregatorRegistry.aggregate sums counters, gauges and histograms across workers.
 */
export async function clusterMetrics(pool: WorkerPool, own: Registry): Promise<AdminReply> {
  const answers = await Promise.allSettled(pool.ready().map((s) => pool.call(s, { weaver: 'call', op: 'metrics' }, METRICS_CALL_MS)));
  const perWorker = answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value as WorkerMetrics] : []));
  const summed = AggregatorRegistry.aggregate(perWorker);
  const text = (await summed.metrics()) + (await own.metrics());
  return { status: 200, body: text, headers: { 'content-type': summed.contentType } };
}

/**
 * Reads go to one worker (the first ready one, so successive reads agree); anything else may
 * change plugin state, which each worker holds for itself, so every ready worker gets it and the
 * first one's reply is returned.
 */
export async function forwardToWorkers(pool: WorkerPool, call: AdminCall): Promise<AdminReply> {
  const ready = pool.ready();
  if (ready.length === 0) return { status: 503, body: { error: 'no worker is ready', code: 'WEAVER_ERR_WORKER' } };
  const targets = call.method === 'GET' || call.method === 'HEAD' ? [ready[0]!] : ready;
  const replies = await Promise.all(targets.map((s) => pool.call(s, { weaver: 'call', op: 'admin', call }, ADMIN_CALL_MS) as Promise<AdminReply>));
  const first = replies[0]!;
  return {
    ...first,
    headers: { ...first.headers, 'x-weaver-worker': String(targets[0]!.worker?.process.pid), 'x-weaver-workers': String(targets.length) },
  };
}
