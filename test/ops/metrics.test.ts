// /metrics after real traffic of every kind the docs name: good requests, a plain-HTTP client,
// plugins that throw and overrun, a dead upstream, a reload. Every line must parse, and every
// metric docs/metrics.md lists must be there with its type and labels.
import net from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { h1Request } from '../http/clients.ts';
import { repoRoot } from '../support/run-weaver.ts';
import { startWeaver } from '../support/weaver-harness.ts';
import { freePort } from './weaver-process.ts';
import { documentedMetrics, parseExposition, samplesOf, total } from './metrics-text.ts';

/** Metrics the traffic below must have given at least one series. */
const EXERCISED = new Set([
  'weaver_connections_total',
  'weaver_connections_active',
  'weaver_connections_rejected_total',
  'weaver_clienthello_errors_total',
  'weaver_handshakes_total',
  'weaver_handshake_duration_seconds',
  'weaver_http_requests_total',
  'weaver_upstream_response_seconds',
  'weaver_upstream_errors_total',
  'weaver_upstream_healthy',
  'weaver_upstream_inflight',
  'weaver_plugin_errors_total',
  'weaver_plugin_timeouts_total',
  'weaver_reloads_total',
  'weaver_runtimes_draining',
]);

/** A TLS client offering `servername`; resolves when the server has closed it (refused or not). */
function tlsAttempt(port: number, servername: string): Promise<void> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
    s.on('error', () => undefined);
    s.once('close', () => resolve());
    s.once('secureConnect', () => s.end());
  });
}

t.test('every documented metric is exposed, and the text parses', async (t) => {
  const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
  t.teardown(() => origin.close());
  const dead = [await freePort(), await freePort()];
  const misbehave = join(repoRoot, 'test/fixtures/plugins/misbehave.ts');
  const h = await startWeaver(`listeners: [{ name: https, port: 0 }]
handshakePools:
  primary: { kind: local, certificates: [{ dev: true, hosts: [localhost, 127.0.0.1] }] }
routes:
  - { name: dead, match: { pathPrefix: /dead }, upstream: dead }
  - { name: main, upstream: origin }
upstreams:
  origin: { servers: [{ url: "http://127.0.0.1:${origin.port}" }] }
  dead: { servers: [{ url: "http://127.0.0.1:${dead[0]}" }, { url: "http://127.0.0.1:${dead[1]}" }] }
plugins: [{ use: ${misbehave}, failure: closed, timeoutMs: 50, options: { suffix: .bad.test } }]
admin: { port: 0 }
`);
  t.teardown(() => h.stop());
  const base = `https://127.0.0.1:${h.port}`;

  for (let i = 0; i < 3; i++) t.equal((await h1Request(base, '/')).status, 200);
  t.equal((await h1Request(base, '/dead')).status, 502, 'a dead upstream answers 502');
  await new Promise<void>((resolve) => {
    const s = net.connect(h.port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'));
    s.on('error', () => undefined);
    s.resume().once('close', () => resolve());
  });
  await tlsAttempt(h.port, 'throw.bad.test');
  await tlsAttempt(h.port, 'hang.bad.test');
  await h.weaver.reloadFromFile();

  const res = await request(`http://127.0.0.1:${h.adminPort}/metrics`);
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const exp = parseExposition(await res.body.text());
  t.same(exp.bad, [], 'every line is a comment or `name{labels} value`');

  const documented = documentedMetrics('Every process that serves traffic');
  t.ok(documented.length >= EXERCISED.size, 'the doc table was read');
  for (const m of documented) {
    t.equal(exp.types.get(m.name), m.type, `${m.name} is exposed as a ${m.type}`);
    const samples = samplesOf(exp, m.name);
    const seen = new Set(samples.flatMap((s) => Object.keys(s.labels)).filter((l) => l !== 'le'));
    t.same([...seen].filter((l) => !m.labels.includes(l)), [], `${m.name} carries only documented labels`);
    if (EXERCISED.has(m.name)) {
      t.ok(samples.length > 0, `${m.name} has series after the traffic`);
      t.same([...seen].sort(), [...m.labels].sort(), `${m.name} labels: ${m.labels.join(', ') || 'none'}`);
    }
  }
  for (const name of EXERCISED) t.ok(documented.some((m) => m.name === name), `${name} is documented`);

  t.ok(total(exp, 'weaver_connections_total') >= 7, 'connections counted');
  t.equal(total(exp, 'weaver_http_requests_total', { route: 'main', status: '200' }), 3);
  t.equal(total(exp, 'weaver_http_requests_total', { route: 'dead', status: '502' }), 1);
  t.equal(total(exp, 'weaver_handshakes_total', { pool: 'primary', outcome: 'ok' }), 4);
  t.equal(total(exp, 'weaver_clienthello_errors_total', { code: 'WEAVER_ERR_HELLO_NOT_TLS' }), 1);
  t.equal(total(exp, 'weaver_plugin_errors_total', { plugin: 'misbehave', code: 'WEAVER_ERR_PLUGIN_THREW' }), 1);
  t.equal(total(exp, 'weaver_plugin_errors_total', { plugin: 'misbehave', code: 'WEAVER_ERR_PLUGIN_TIMEOUT' }), 1);
  t.equal(total(exp, 'weaver_plugin_timeouts_total', { plugin: 'misbehave', phase: 'onClientHello' }), 1);
  t.equal(total(exp, 'weaver_connections_rejected_total', { phase: 'clienthello' }), 2);
  t.equal(total(exp, 'weaver_upstream_response_seconds_count', { upstream: 'origin' }), 3);
  t.ok(total(exp, 'weaver_upstream_errors_total', { upstream: 'dead' }) >= 1);
  t.equal(total(exp, 'weaver_upstream_healthy', { upstream: 'origin' }), 1);
  t.equal(total(exp, 'weaver_reloads_total', { result: 'ok' }), 1);
});
