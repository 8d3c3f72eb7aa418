// workers: 2 — a primary and two workers sharing the listener. Both workers serve, the primary's
// /metrics sums them, /api/* is answered by a worker, a killed worker is replaced, a reload
// reaches both, and SIGTERM drains everything and exits 0.
import { writeFileSync } from 'node:fs';
import t from 'tap';
import { request } from 'undici';
import { h1Request } from '../http/clients.ts';
import { documentedMetrics, parseExposition, total } from './metrics-text.ts';
import { freePort, msg, startWeaverProcess, tempDir, writeConfig } from './weaver-process.ts';

const REQUESTS = 20;

t.test('two workers behind one primary', async (t) => {
  const [port, adminPort, demoPort] = [await freePort(), await freePort(), await freePort()];
  const yaml = (route: string) => `workers: 2
drainTimeoutMs: 5000
listeners: [{ name: https, port: ${port} }]
handshakePools:
  primary: { kind: local, certificates: [{ dev: true, hosts: [localhost, 127.0.0.1] }] }
routes: [{ name: ${route}, upstream: demo }]
upstreams: { demo: { servers: [{ url: "http://127.0.0.1:${demoPort}" }] } }
demoOrigin: { port: ${demoPort} }
admin: { port: ${adminPort} }
`;
  const file = writeConfig(tempDir(t), yaml('first'));
  const proc = await startWeaverProcess(file, { ready: msg('cluster ready'), teardown: (fn) => t.teardown(fn) });
  const primaryPid = proc.child.pid!;
  const base = `https://127.0.0.1:${port}`;
  const admin = `http://127.0.0.1:${adminPort}`;
  const workerPids = () => new Set(proc.logs.filter(msg('worker ready')).map((l) => l.workerPid as number));
  const [w0, w1] = [...workerPids()];
  t.equal(workerPids().size, 2, 'two workers started');
  t.equal(proc.logs.filter(msg('demo origin listening')).length, 1, 'the demo origin runs once…');
  t.equal(proc.logs.find(msg('demo origin listening'))!.pid, primaryPid, '…in the primary');
  t.equal(proc.logs.filter(msg('admin API listening')).length, 1, 'the admin API runs in the primary only');

  for (let i = 0; i < REQUESTS; i++) t.equal((await h1Request(base, '/')).status, 200);
  const servedBy = new Set(proc.logs.filter((l) => l.msg === 'request' && l.status === 200).map((l) => l.pid));
  t.same([...servedBy].sort(), [w0, w1].sort(), 'both workers served requests');

  const exp = parseExposition(await (await request(`${admin}/metrics`)).body.text());
  t.same(exp.bad, []);
  t.equal(total(exp, 'weaver_connections_total'), REQUESTS, 'weaver_connections_total is the sum over both workers');
  t.equal(total(exp, 'weaver_http_requests_total', { route: 'first', status: '200' }), REQUESTS);
  for (const m of documentedMetrics('Cluster primary only')) t.equal(exp.types.get(m.name), m.type, `${m.name} is exposed`);
  t.equal(total(exp, 'weaver_cluster_workers'), 2);

  const config = await request(`${admin}/api/config`);
  t.equal(config.statusCode, 200);
  t.ok([w0, w1].includes(Number(config.headers['x-weaver-worker'])), 'a worker answered /api/config');
  t.match(await config.body.json(), { workers: 2, routes: [{ name: 'first' }] });
  const readyz = await request(`${admin}/readyz`);
  t.equal(readyz.statusCode, 200);
  await readyz.body.dump();

  // An unexpected death: the worker is replaced and serving goes on.
  const mark = proc.logs.length;
  process.kill(w0!, 'SIGKILL');
  await proc.waitForLog(msg('worker died: replacing it'), { from: mark });
  const replaced = await proc.waitForLog(msg('worker ready'), { from: mark });
  t.not(replaced.workerPid, w0, 'a new worker took its place');
  for (let i = 0; i < 6; i++) t.equal((await h1Request(base, '/')).status, 200);
  const workers = (await (await request(`${admin}/api/workers`)).body.json()) as Array<{ pid: number; ready: boolean; restarts: number }>;
  t.same(workers.map((w) => w.restarts).sort(), [0, 1]);
  t.ok(workers.every((w) => w.ready));
  const after = parseExposition(await (await request(`${admin}/metrics`)).body.text());
  t.equal(total(after, 'weaver_cluster_worker_restarts_total'), 1);

  // A reload reaches every worker.
  writeFileSync(file, yaml('second'));
  const reload = await request(`${admin}/api/reload`, { method: 'POST' });
  t.equal(reload.statusCode, 200);
  const summary = (await reload.body.json()) as { workers: Array<{ pid: number; generation: number }> };
  t.equal(summary.workers.length, 2, 'both workers reloaded');
  t.same(summary.workers.map((w) => w.generation), [2, 2]);
  await h1Request(base, '/');
  t.match(await (await request(`${admin}/api/config`)).body.json(), { routes: [{ name: 'second' }] });

  // SIGHUP to the primary does the same.
  writeFileSync(file, yaml('third'));
  const hupMark = proc.logs.length;
  proc.kill('SIGHUP');
  await proc.waitForLog((l) => l.msg === 'reloaded' && l.pid === primaryPid, { from: hupMark });
  // Workers write to the same pipe: their lines may arrive after the primary's.
  const byWorker = async (pid: unknown) => proc.waitForLog((l) => l.msg === 'reloaded' && l.pid === pid, { from: hupMark });
  const current = (await (await request(`${admin}/api/workers`)).body.json()) as Array<{ pid: number }>;
  const applied = await Promise.all(current.map((w) => byWorker(w.pid)));
  t.same(applied.map((l) => l.generation), [3, 3], 'both workers applied it');
  t.match(await (await request(`${admin}/api/config`)).body.json(), { routes: [{ name: 'third' }] });

  // A broken file is refused once, in the primary, before any worker sees it.
  writeFileSync(file, yaml('third').replace('workers: 2', 'workers: two'));
  const refused = await request(`${admin}/api/reload`, { method: 'POST' });
  t.equal(refused.statusCode, 422);
  t.match(await refused.body.json(), { code: 'WEAVER_ERR_CONFIG', issues: [{ path: 'workers', line: 1 }] });
  t.match(await (await request(`${admin}/api/config`)).body.json(), { routes: [{ name: 'third' }] }, 'the workers run on');

  const stopMark = proc.logs.length;
  proc.kill('SIGTERM');
  t.equal(await proc.exited, 0, 'SIGTERM: exit 0');
  const exits = proc.logs.slice(stopMark).filter(msg('worker exited'));
  t.same(exits.map((l) => l.code), [0, 0], 'both workers drained and exited 0');
});
