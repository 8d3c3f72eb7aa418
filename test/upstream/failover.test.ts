// A server dies in the middle of steady traffic: retries and outlier ejection keep every
// idempotent request answered 200, health checks keep it out while it is down, and it returns
// once it listens again and has passed its probes.
import t from 'tap';
import type { PoolStatus } from '../../proxy/upstream/pool.ts';
import { startBackend, stopAll } from './backends.ts';
import { Client, metricValue, until, weaverFor, type Answer } from './proxy.ts';

t.test('kill one of three mid-stream: no GET fails, it is ejected, and it comes back after passing health checks', async (t) => {
  const backends = await Promise.all(['a', 'b', 'c'].map((n) => startBackend(n)));
  t.teardown(() => stopAll(backends));
  const [a, b, c] = backends;
  const h = await weaverFor(`
    servers: [{ url: "${a!.url}" }, { url: "${b!.url}" }, { url: "${c!.url}" }]
    healthCheck: { path: /health, intervalMs: 100, timeoutMs: 200, healthyThreshold: 2, unhealthyThreshold: 2 }
    outlierDetection: { consecutiveConnectFailures: 2, baseEjectionMs: 300, maxEjectionMs: 2000 }
    retries: { attempts: 2 }
    connectTimeoutMs: 500`);
  t.teardown(() => h.stop());
  const client = new Client(h.port);
  t.teardown(() => client.close());
  const describe = () => h.weaver.runtime.upstreams.describe().app as PoolStatus;
  const serverB = () => describe().servers.find((s) => s.id === b!.url)!;

  const answers: Answer[] = [];
  let streaming = true;
  const stream = Promise.all(
    Array.from({ length: 4 }, async () => {
      while (streaming) {
        answers.push(await client.send('/').catch((err: Error) => ({ status: 0, by: '', requestId: '', body: err.message })));
      }
    }),
  );
  await until(() => answers.length >= 100, 5_000, '100 answers before the kill');
  t.ok(b!.total() > 0, 'b served its share before');

  await b!.kill();
  const ejected = await h.waitForLog((l) => l.msg === 'upstream server ejected' && l.server === b!.url, 3_000);
  t.match(ejected, { upstream: 'app', ms: 300, ejections: 1, reason: /2 connect failures in a row/ });
  const afterKill = answers.length;
  await until(() => answers.length >= afterKill + 200, 5_000, '200 answers with b down');
  await until(() => !serverB().healthy, 3_000, 'b failing its probes');
  t.equal(describe().inRotation, 2);

  let hitsWhenHealthy = -1;
  const healthy = h.waitForLog((l) => {
    if (l.msg !== 'upstream server healthy' || l.server !== b!.url) return false;
    // Read synchronously as the line is written: before any request could have been sent to b.
    hitsWhenHealthy = b!.total();
    return true;
  }, 5_000);
  const hitsAtRestart = b!.total();
  const probesAtRestart = b!.probes;
  await b!.restart();
  await healthy;
  t.equal(hitsWhenHealthy, hitsAtRestart, 'no request reached b before its probes passed');
  t.ok(b!.probes >= probesAtRestart + 2, 'two probes passed');
  await until(() => b!.total() > hitsAtRestart + 10, 5_000, 'b serving again');
  streaming = false;
  await stream;

  const failed = answers.filter((x) => x.status !== 200);
  t.same(failed, [], `all ${answers.length} GETs answered 200`);
  t.ok((await metricValue(h, 'weaver_upstream_retries_total', { upstream: 'app' })) >= 1, 'some were retried on another server');
  t.equal(await metricValue(h, 'weaver_upstream_ejections_total', { upstream: 'app', server: b!.url }), 1);
  t.match(serverB(), { healthy: true, ejectedUntil: null });
  t.ok(serverB().failures >= 2);
  t.equal(describe().inRotation, 3);
});
