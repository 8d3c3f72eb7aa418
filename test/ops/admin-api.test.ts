// The admin API in one process: health, upstreams, reload through POST /api/reload, plugin
// routes following the runtime that is current, the old plugin serving its old connections,
// and the bearer token on a non-loopback bind.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Agent, request } from 'undici';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { runWeaver } from '../support/run-weaver.ts';
import { startWeaver } from '../support/weaver-harness.ts';
import { tempDir, writeConfig } from './weaver-process.ts';

const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
t.teardown(() => origin.close());

// A plain-JS plugin written beside the config: an admin route and an onRequest answer that
// both show the plugin's options, so each runtime's instance can be told apart.
const greeter = `export default {
  name: 'greeter',
  setup(api) {
    api.admin.route('GET', '/who', () => ({ body: { who: api.options.who } }));
    api.onStop(() => api.log.info({ who: api.options.who }, 'greeter stopped'));
    return { onRequest: (req) => req.path === '/greet' ? { action: 'respond', status: 200, body: api.options.who } : undefined };
  },
};
`;

function yaml(plugins: string, route = 'main'): string {
  return `listeners: [{ name: https, port: 0 }]
handshakePools:
  primary: { kind: local, certificates: [{ dev: true, hosts: [localhost, 127.0.0.1] }] }
routes: [{ name: ${route}, upstream: origin }]
upstreams: { origin: { servers: [{ url: "http://127.0.0.1:${origin.port}" }] } }
admin: { port: 0 }
drainTimeoutMs: 10000
${plugins}`;
}
const withGreeter = (who: string) => `plugins: [{ use: ./greeter.js, options: { who: ${who} } }]\n`;

t.test('endpoints, reload, and plugin routes across reloads', async (t) => {
  const h = await startWeaver(yaml(withGreeter('one')), { setup: (dir) => writeFileSync(join(dir, 'greeter.js'), greeter) });
  t.teardown(() => h.stop());
  const admin = `http://127.0.0.1:${h.adminPort}`;
  const get = async (path: string) => {
    const res = await request(`${admin}${path}`);
    const text = await res.body.text();
    return { status: res.statusCode, type: String(res.headers['content-type']), text, json: () => JSON.parse(text) as unknown };
  };
  const reload = async (text: string) => {
    writeFileSync(join(h.dir, 'weaver.yaml'), text);
    const res = await request(`${admin}/api/reload`, { method: 'POST' });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  };
  const proxyAgent = new Agent({ connect: { rejectUnauthorized: false } });
  t.teardown(() => proxyAgent.close());
  const greet = async (agent: Agent) => {
    const res = await request(`https://127.0.0.1:${h.port}/greet`, { dispatcher: agent });
    return { body: await res.body.text(), connection: res.headers.connection };
  };

  t.match(await get('/healthz'), { status: 200, text: 'ok\n' });
  t.match(await get('/readyz'), { status: 200, text: 'ready\n' });
  const missing = await get('/api/nothing');
  t.equal(missing.status, 404);
  t.match(missing.json(), { code: 'WEAVER_ERR_ADMIN_NOT_FOUND' });
  const upstreams = await get('/api/upstreams');
  t.equal(upstreams.status, 200);
  t.match(upstreams.json(), { origin: { servers: [{ url: `http://127.0.0.1:${origin.port}`, healthy: true, inflight: 0 }] } });
  t.match(await get('/api/plugins'), { status: 200 });
  t.match((await get('/api/plugins')).json(), [{ name: 'greeter', phases: ['onRequest'], routes: [{ method: 'GET', path: '/api/plugins/greeter/who' }] }]);
  t.same((await get('/api/plugins/greeter/who')).json(), { who: 'one' });

  // A keep-alive connection opened on the first runtime.
  const oldConn = new Agent({ connect: { rejectUnauthorized: false }, connections: 1 });
  t.teardown(() => oldConn.close());
  t.same(await greet(oldConn), { body: 'one', connection: 'keep-alive' });

  const second = await reload(yaml(withGreeter('two'), 'renamed'));
  t.equal(second.status, 200, 'reload applied');
  t.match(second.body, { reloaded: true, generation: 2, routes: 1, plugins: ['greeter'], draining: 1, restartRequired: [] });
  t.same((await get('/api/plugins/greeter/who')).json(), { who: 'two' }, "the new runtime's plugin owns the route");
  t.match((await get('/api/config')).json(), { routes: [{ name: 'renamed' }] });
  t.same(await greet(proxyAgent), { body: 'two', connection: 'keep-alive' }, 'a new connection meets the new plugin');
  t.same(
    await greet(oldConn),
    { body: 'one', connection: 'close' },
    'the open connection is still served by the old plugin, and told to close',
  );
  const stopped = await h.waitForLog((l) => l.msg === 'greeter stopped' && l.who === 'one');
  t.ok(stopped, 'the old plugin stopped once its last connection closed');
  t.notOk(h.logs.some((l) => l.msg === 'greeter stopped' && l.who === 'two'));

  const third = await reload(yaml(''));
  t.equal(third.status, 200);
  t.equal((await get('/api/plugins/greeter/who')).status, 404, 'a plugin dropped by the reload takes its routes along');
  t.same((await get('/api/plugins')).json(), []);
});

t.test('a non-loopback admin needs the bearer token on every request', async (t) => {
  const token = 'a-long-enough-admin-token';
  const h = await startWeaver(yaml('').replace('admin: { port: 0 }', `admin: { port: 0, address: 0.0.0.0, token: ${token} }`));
  t.teardown(() => h.stop());
  const url = `http://127.0.0.1:${h.adminPort}/api/config`;
  const none = await request(url);
  t.equal(none.statusCode, 401, 'no token: 401, even from loopback');
  t.equal(none.headers['www-authenticate'], 'Bearer');
  t.match(await none.body.json(), { code: 'WEAVER_ERR_ADMIN_AUTH' });
  const wrong = await request(url, { headers: { authorization: 'Bearer not-the-right-token-at-all' } });
  t.equal(wrong.statusCode, 401);
  await wrong.body.dump();
  const metrics = await request(`http://127.0.0.1:${h.adminPort}/metrics`);
  t.equal(metrics.statusCode, 401, '/metrics too');
  await metrics.body.dump();
  const good = await request(url, { headers: { authorization: `Bearer ${token}` } });
  t.equal(good.statusCode, 200);
  const config = (await good.body.json()) as { admin: { token: string; address: string } };
  t.same(config.admin, { enabled: true, address: '0.0.0.0', port: 0, token: '[redacted]' }, 'the token itself is never shown');
});

t.test('weaver check refuses a non-loopback admin without a token', async (t) => {
  const file = writeConfig(tempDir(t), yaml('').replace('admin: { port: 0 }', 'admin: { port: 0, address: 0.0.0.0 }'));
  const run = await runWeaver(['check', '-c', file]);
  t.equal(run.code, 1);
  t.match(run.stderr, /admin\.address.*not loopback, without a token/);
});
