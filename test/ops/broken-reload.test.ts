// A config that cannot be applied is refused by SIGHUP and by POST /api/reload alike: the log
// (and the 422 answer) say why with file:line:col, and the running config keeps serving.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { h1Request } from '../http/clients.ts';
import { repoRoot } from '../support/run-weaver.ts';
import { freePort, msg, startWeaverProcess, tempDir, writeConfig, type LogLine } from './weaver-process.ts';

t.test('broken configs are refused; serving goes on', async (t) => {
  const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
  t.teardown(() => origin.close());
  const [port, adminPort] = [await freePort(), await freePort()];
  const dir = tempDir(t);
  const good = `workers: 1
listeners: [{ name: https, port: ${port} }]
handshakePools:
  primary: { kind: local, certificates: [{ dev: true, hosts: [localhost, 127.0.0.1] }] }
routes: [{ name: first, upstream: origin }]
upstreams: { origin: { servers: [{ url: "http://127.0.0.1:${origin.port}" }] } }
admin: { port: ${adminPort} }
`;
  const file = writeConfig(dir, good);
  const proc = await startWeaverProcess(file, { teardown: (fn) => t.teardown(fn) });
  const base = `https://127.0.0.1:${port}`;
  const admin = `http://127.0.0.1:${adminPort}`;
  const serving = async () => (await h1Request(base, '/')).status;
  const reloadByApi = async () => {
    const res = await request(`${admin}/api/reload`, { method: 'POST' });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  };
  const refusedLine = async (mark: number): Promise<LogLine> => proc.waitForLog((l) => String(l.msg).startsWith('reload refused:'), { from: mark });

  await t.test('a schema error, by SIGHUP then by the API', async (t) => {
    writeFileSync(file, good.replace('routes: [{ name: first, upstream: origin }]', 'routes: [{ name: first, upstream: origin, weight: 3 }]'));
    const mark = proc.logs.length;
    proc.kill('SIGHUP');
    const line = await refusedLine(mark);
    t.equal(line.level, 50, 'logged as an error');
    t.equal(line.code, 'WEAVER_ERR_CONFIG');
    t.match(line.issues, [{ file, line: 5, path: 'routes[0].weight' }], 'the log names file, line and key');
    t.equal(await serving(), 200, 'still serving');

    const api = await reloadByApi();
    t.equal(api.status, 422);
    t.match(api.body, { reloaded: false, code: 'WEAVER_ERR_CONFIG', issues: [{ file, line: 5, col: Number, path: 'routes[0].weight', message: String }] });
  });

  await t.test('a certificate file that is not there', async (t) => {
    writeFileSync(file, good.replace('{ dev: true, hosts: [localhost, 127.0.0.1] }', '{ cert: missing.pem, key: missing-key.pem }'));
    const api = await reloadByApi();
    t.equal(api.status, 422);
    t.match(api.body, { code: 'WEAVER_ERR_CONFIG', issues: [{ path: 'handshakePools.primary.certificates[0]', message: /missing\.pem/ }] });
    t.equal(await serving(), 200);
  });

  await t.test('a plugin whose setup throws: only building the runtime finds it', async (t) => {
    const plugin = join(repoRoot, 'test/fixtures/plugins/setup-throws.ts');
    writeFileSync(file, `${good}plugins: [{ use: ${plugin} }]\n`);
    const mark = proc.logs.length;
    const api = await reloadByApi();
    t.equal(api.status, 422);
    t.match(api.body, { code: 'WEAVER_ERR_PLUGIN_LOAD', plugin: 'setup-throws', error: /no database/ });
    t.match(await refusedLine(mark), { code: 'WEAVER_ERR_PLUGIN_LOAD', plugin: 'setup-throws' });
    t.equal(await serving(), 200);
  });

  await t.test('the running config was never touched, and a good file still applies', async (t) => {
    const config = (await (await request(`${admin}/api/config`)).body.json()) as { routes: Array<{ name: string }>; plugins: unknown[] };
    t.same(config.routes.map((r) => r.name), ['first']);
    t.same(config.plugins, []);
    writeFileSync(file, good.replace('name: first', 'name: second'));
    const api = await reloadByApi();
    t.equal(api.status, 200);
    t.match(api.body, { reloaded: true, generation: 2 });
    const after = (await (await request(`${admin}/api/config`)).body.json()) as { routes: Array<{ name: string }> };
    t.same(after.routes.map((r) => r.name), ['second']);
    const metrics = await (await request(`${admin}/metrics`)).body.text();
    t.match(metrics, /weaver_reloads_total\{result="refused"\} 4/);
    t.match(metrics, /weaver_reloads_total\{result="ok"\} 1/);
  });

  proc.kill('SIGTERM');
  t.equal(await proc.exited, 0);
  t.ok(proc.logs.some(msg('stopped')));
});
