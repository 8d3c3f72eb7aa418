// Active health checks against real servers on loopback: probes take a failing server out of
// rotation and bring it back, statuses and timeouts count as configured, a closed registry stops
// probing, and a pool with nobody in rotation answers 503 with the request id.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { request } from 'undici';
import { CoreMetrics } from '../../proxy/metrics.ts';
import type { UpstreamCandidate } from '../../proxy/plugin/types.ts';
import { UpstreamRegistry } from '../../proxy/upstream/registry.ts';
import { startProxy } from '../http/fixture.ts';
import { startBackend, stopAll, type Backend } from './backends.ts';
import { upstreamConfig } from './config.ts';
import { until } from './proxy.ts';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

async function registryOf(backends: Backend[], healthCheck: Record<string, unknown>) {
  const { log, lines } = capture();
  const metrics = new CoreMetrics(false);
  const registry = new UpstreamRegistry(
    { app: upstreamConfig({ servers: backends.map((b) => ({ url: b.url })), healthCheck: { path: '/health', intervalMs: 40, ...healthCheck } }) },
    { log, metrics },
  );
  const pool = registry.get('app')!;
  const inRotation = () => new Set(pool.candidates().map((c) => c.id));
  return { registry, pool, lines, metrics, inRotation };
}

t.test('failing probes take a server out of rotation; passing ones bring it back', async (t) => {
  const backends = await Promise.all(['a', 'b'].map((n) => startBackend(n)));
  t.teardown(() => stopAll(backends));
  const [a, b] = backends as [Backend, Backend];
  const { registry, lines, inRotation, metrics } = await registryOf(backends, { healthyThreshold: 2, unhealthyThreshold: 2 });
  t.teardown(() => registry.close());
  await until(() => a.probes >= 2 && b.probes >= 2, 3_000, 'first probes');
  t.same(inRotation(), new Set([a.url, b.url]));
  b.healthStatus = 500;
  await until(() => !inRotation().has(b.url), 3_000, 'b out of rotation');
  t.same(inRotation(), new Set([a.url]));
  t.match(lines.find((l) => l.msg === 'upstream server unhealthy'), { upstream: 'app', server: b.url, reason: /2 probes failed in a row, last: status 500/ });
  t.match(await metrics.registry.getSingleMetricAsString('weaver_upstream_healthy'), `weaver_upstream_healthy{upstream="app",server="${b.url}"} 0`);
  b.healthStatus = 200;
  await until(() => inRotation().has(b.url), 3_000, 'b back');
  t.match(lines.find((l) => l.msg === 'upstream server healthy'), { server: b.url, reason: '2 probes passed in a row' });
  t.match(await metrics.registry.getSingleMetricAsString('weaver_upstream_healthy'), `weaver_upstream_healthy{upstream="app",server="${b.url}"} 1`);
});

t.test('expectStatus decides what passes; a probe with no answer in time fails', async (t) => {
  const backends = await Promise.all(['ok404', 'redirect', 'silent'].map((n) => startBackend(n)));
  t.teardown(() => stopAll(backends));
  const [ok404, redirect, silent] = backends as [Backend, Backend, Backend];
  ok404.healthStatus = 404;
  redirect.healthStatus = 302;
  silent.healthStatus = 0;
  const { registry, lines, inRotation } = await registryOf(backends, { expectStatus: '200-299,404', timeoutMs: 100, unhealthyThreshold: 1 });
  t.teardown(() => registry.close());
  await until(() => inRotation().size === 1, 3_000, 'two servers out');
  t.same(inRotation(), new Set([ok404.url]), '404 is listed, so it passes');
  await until(() => lines.filter((l) => l.msg === 'upstream server unhealthy').length === 2);
  const why = Object.fromEntries(lines.filter((l) => l.msg === 'upstream server unhealthy').map((l) => [l.server, l.reason]));
  t.match(why[redirect.url], /status 302/);
  t.match(why[silent.url], /no answer within 100 ms/);
  const before = ok404.probes;
  await until(() => ok404.probes >= before + 3, 3_000, 'probing goes on');
  t.same(inRotation(), new Set([ok404.url]));
});

t.test('a killed server fails its probes (connection refused) and returns when it listens again', async (t) => {
  const backends = await Promise.all(['a', 'b'].map((n) => startBackend(n)));
  t.teardown(() => stopAll(backends));
  const [a, b] = backends as [Backend, Backend];
  const { registry, lines, inRotation } = await registryOf(backends, { unhealthyThreshold: 2, healthyThreshold: 2 });
  t.teardown(() => registry.close());
  await b.kill();
  await until(() => !inRotation().has(b.url), 3_000, 'b out');
  t.match(lines.find((l) => l.msg === 'upstream server unhealthy')?.reason, /ECONNREFUSED/);
  const probes = b.probes;
  await b.restart();
  await until(() => inRotation().has(b.url), 3_000, 'b back');
  t.ok(b.probes >= probes + 2, 'it answered the probes that brought it back');
  t.same(inRotation(), new Set([a.url, b.url]));
});

t.test('a closed registry probes no more', async (t) => {
  const backends = [await startBackend('a')];
  t.teardown(() => stopAll(backends));
  const { registry } = await registryOf(backends, { intervalMs: 20 });
  await until(() => backends[0]!.probes >= 2, 3_000, 'probing');
  await registry.close();
  const after = backends[0]!.probes;
  await new Promise((resolve) => setTimeout(resolve, 250));
  t.equal(backends[0]!.probes, after, 'no probe after close() resolved');
});

t.test('nobody in rotation: 503 WEAVER_ERR_NO_HEALTHY_UPSTREAM; plugins only ever see healthy candidates', async (t) => {
  const backends = await Promise.all(['a', 'b'].map((n) => startBackend(n)));
  t.teardown(() => stopAll(backends));
  const [a, b] = backends as [Backend, Backend];
  const offered: string[][] = [];
  const fx = await startProxy({
    routes: [{ upstream: 'app' }],
    upstreams: {
      app: {
        servers: [{ url: a.url }, { url: b.url }],
        healthCheck: { path: '/health', intervalMs: 40, unhealthyThreshold: 1, healthyThreshold: 1, timeoutMs: 1000, expectStatus: '200' },
      },
    },
    plugins: [
      {
        onUpstreamSelect(_req, candidates: readonly UpstreamCandidate[]) {
          offered.push(candidates.map((c) => `${c.id} ${c.healthy}`));
        },
      },
    ],
  });
  t.teardown(() => fx.close());
  const pool = fx.registry.get('app')!;
  const get = async () => {
    const res = await request(`${fx.url}/x`, { dispatcher: fx.agent });
    return { status: res.statusCode, id: res.headers['x-request-id'], body: await res.body.text() };
  };
  a.healthStatus = 500;
  await until(() => pool.describe().inRotation === 1, 3_000, 'a out');
  for (let i = 0; i < 4; i++) t.equal((await get()).status, 200);
  t.same(offered.slice(-4), Array(4).fill([`${b.url} true`]), 'onUpstreamSelect was offered b alone');
  b.healthStatus = 500;
  await until(() => pool.describe().inRotation === 0, 3_000, 'b out');
  const before = offered.length;
  const res = await get();
  t.equal(res.status, 503);
  t.same(JSON.parse(res.body), { error: 'no healthy upstream server', code: 'WEAVER_ERR_NO_HEALTHY_UPSTREAM', requestId: res.id });
  t.equal(offered.length, before, 'no plugin is asked to choose among nobody');
  t.ok(fx.logs.some((l) => l.msg === 'no upstream server in rotation' && l.upstream === 'app'));
  a.healthStatus = 200;
  await until(() => pool.describe().inRotation === 1, 3_000, 'a back');
  t.equal((await get()).status, 200);
});
