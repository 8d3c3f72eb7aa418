// The policy on real TLS connections from distinct loopback sources: an allow-list segment
// admits only its members, a deny rule from the API cuts a live flow and refuses new ones, an
// expired rule stops applying, a dry-run names the deciding rule, a bad rule changes nothing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { makeClientCert, makeTestCa } from '../support/test-ca.ts';
import { repoRoot, startWeaver } from '../support/weaver-harness.ts';
import { admin, connectTls, httpsGet, segConfig, sleep, tryTls } from './support.ts';

const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
t.teardown(() => origin.close());

const OPTIONS = `
      segments:
        app: { cidrs: [127.10.0.0/16], hosts: [app.test], posture: allow-list }
        ops: { cidrs: [127.30.0.0/16, "fd00:30::/32"] }
      rules:
        - { id: ops-to-app, from: { segment: ops }, to: { segment: app }, action: allow, reason: operators reach the app }
`;

t.test('an allow-list segment admits only its members', async (t) => {
  const h = await startWeaver(segConfig(OPTIONS, { upstreamPort: origin.port }));
  t.teardown(() => h.stop());
  t.equal(await httpsGet(h.port, '127.10.0.5'), 200, 'a member reaches app.test');
  t.equal(await httpsGet(h.port, '127.30.1.1'), 200, 'a source an allow rule names reaches app.test');
  t.equal(await tryTls(h.port, '127.20.0.5'), 'refused', 'a non-member is refused at the ClientHello');
  t.equal(await httpsGet(h.port, '127.20.0.5', 'other.test'), 200, 'the same source reaches a name outside the segment');
  await h.waitForLog((l) => l.msg === 'connection rejected' && l.reason === 'segmentation: posture:app');
});

t.test('a segment by client-certificate identity', async (t) => {
  const ca = makeTestCa();
  const alice = makeClientCert(ca, 'alice');
  const mallory = makeClientCert(ca, 'mallory');
  const options = `
      segments:
        vault: { identities: [alice], hosts: [app.test], posture: allow-list }
`;
  const h = await startWeaver(segConfig(options, { upstreamPort: origin.port, pool: `clientCertificate: request, clientCa: ${ca.certFile}` }));
  t.teardown(() => h.stop());
  t.equal(await httpsGet(h.port, '127.50.0.1', 'app.test', '/', alice), 200, 'alice\'s certificate admits her');
  t.equal(await httpsGet(h.port, '127.50.0.1', 'app.test', '/', mallory), 0, 'another certificate from the same CA does not');
  t.equal(await httpsGet(h.port, '127.50.0.1', 'app.test'), 0, 'nor does no certificate');
  t.equal(await httpsGet(h.port, '127.50.0.1', 'other.test'), 200, 'outside the segment no certificate is needed');
  await h.waitForLog((l) => l.msg === 'connection rejected' && l.phase === 'handshake' && l.reason === 'segmentation: posture:vault');
});

t.test('a segment by a tag another plugin sets', async (t) => {
  // bae, listed first, tags every connection at the ClientHello (observe only: it refuses nothing).
  const bae = `  - use: ${repoRoot}plugins/bae/index.ts\n    options: { observeOnly: true }\n`;
  const options = `
      segments:
        profiled: { tags: [bae.action=primary] }
      rules:
        - { id: no-profiled, from: { segment: profiled }, to: { port: 1 }, action: deny }
`;
  const h = await startWeaver(segConfig(options, { upstreamPort: origin.port, extraPlugins: bae }));
  t.teardown(() => h.stop());
  t.equal(await httpsGet(h.port, '127.51.0.1'), 200, 'the rule is for another port');
  const r = await admin<{ rules: unknown[] }>(h.adminPort, 'POST', '/rules', { id: 'tagged', from: { segment: 'profiled' }, action: 'deny' });
  t.equal(r.status, 201);
  t.equal(await httpsGet(h.port, '127.51.0.1'), 0, 'a connection bae tagged is refused once the handshake is done');
  await h.waitForLog((l) => l.msg === 'connection rejected' && l.phase === 'handshake' && l.reason === 'segmentation: rule:tagged');
});

t.test('a deny rule added through the API cuts a live flow and refuses new ones', async (t) => {
  const h = await startWeaver(segConfig(OPTIONS, { upstreamPort: origin.port }));
  t.teardown(() => h.stop());
  const live = await connectTls(h.port, '127.10.0.7');
  const other = await connectTls(h.port, '127.10.0.8');
  t.teardown(() => other.socket.destroy());
  const sent = performance.now();
  const added = await admin(h.adminPort, 'POST', '/rules', { id: 'block-7', from: { cidr: '127.10.0.7' }, action: 'deny', priority: 10, reason: 'test' });
  t.equal(added.status, 201);
  const closedAt = await Promise.race([live.closed, sleep(2_000).then(() => -1)]);
  t.not(closedAt, -1, 'the live flow was cut');
  t.comment(`API call to cut: ${(closedAt - sent).toFixed(1)} ms`);
  t.notOk(other.socket.destroyed, 'a flow from another source goes on');
  t.equal(await tryTls(h.port, '127.10.0.7'), 'refused', 'new connections from the source are refused');
  t.equal(await httpsGet(h.port, '127.10.0.8'), 200);
  await h.waitForLog((l) => l.msg === 'connection rejected' && l.reason === 'segmentation: rule:block-7' && l.phase === 'connection');

  const del = await admin(h.adminPort, 'DELETE', '/rules?id=block-7');
  t.equal(del.status, 200);
  t.equal(await httpsGet(h.port, '127.10.0.7'), 200, 'deleting the rule lets the source in again');
});

t.test('one list entry added and deleted through the API', async (t) => {
  const h = await startWeaver(segConfig(OPTIONS, { upstreamPort: origin.port }));
  t.teardown(() => h.stop());
  t.equal(await tryTls(h.port, '127.20.0.9'), 'refused', 'not a member of app yet');
  const added = await admin(h.adminPort, 'POST', '/entries', { segment: 'app', kind: 'cidr', value: '127.20.0.9' });
  t.same(added, { status: 201, body: { added: true } });
  t.equal(await httpsGet(h.port, '127.20.0.9'), 200, 'a member now');
  const seg = await admin<{ entries: Array<{ kind: string; value: string; origin: string }> }>(h.adminPort, 'GET', '/segments?name=app');
  t.match(seg.body.entries.at(-1), { kind: 'cidr', value: '127.20.0.9/32', origin: 'admin:loopback' }, 'the entry, normalized and attributed');
  const live = await connectTls(h.port, '127.20.0.9');
  t.equal((await admin(h.adminPort, 'DELETE', '/entries?segment=app&kind=cidr&value=127.20.0.9')).status, 200);
  t.not(await Promise.race([live.closed, sleep(2_000).then(() => -1)]), -1, 'its live flow is cut once it is no member');
  t.equal((await admin(h.adminPort, 'DELETE', '/entries?segment=app&kind=cidr&value=127.10.0.0/16')).status, 409, 'config entries stay');
});

t.test('an expired rule stops applying', async (t) => {
  const h = await startWeaver(segConfig(`${OPTIONS}      sweepIntervalMs: 100\n`, { upstreamPort: origin.port }));
  t.teardown(() => h.stop());
  const posted = performance.now();
  const added = await admin(h.adminPort, 'POST', '/rules', { id: 'brief', from: { cidr: '127.10.0.9/32' }, action: 'deny', ttlMs: 2_000 });
  t.equal(added.status, 201);
  t.equal(await tryTls(h.port, '127.10.0.9'), 'refused', 'refused while the rule lives');
  await sleep(2_100 - (performance.now() - posted));
  t.equal(await httpsGet(h.port, '127.10.0.9'), 200, 'let in once it has expired');
  await sleep(300);
  const rules = await admin<{ rules: Array<{ id: string }> }>(h.adminPort, 'GET', '/rules');
  t.notOk(rules.body.rules.some((r) => r.id === 'brief'), 'the sweeper removed it');
  const log = readFileSync(join(h.weaver.config.stateDir, 'plugins/segmentation/segmentation-audit.jsonl'), 'utf8');
  t.match(log, /"type":"rule.expire"/, 'the expiry is in the audit log');
});

t.test('a dry-run names the deciding rule', async (t) => {
  const h = await startWeaver(segConfig(OPTIONS, { upstreamPort: origin.port }));
  t.teardown(() => h.stop());
  const ev = (flow: unknown) => admin<{ decision: string; by: string; rule: { id: string } | null; segments: { from: string[]; to: string[] } }>(h.adminPort, 'POST', '/evaluate', flow);
  let r = await ev({ src: '127.30.0.1', sni: 'app.test' });
  t.equal(r.status, 200);
  t.equal(r.body.decision, 'allow');
  t.equal(r.body.rule?.id, 'ops-to-app');
  t.same(r.body.segments, { from: ['ops'], to: ['app'] });
  r = await ev({ src: '127.20.0.1', sni: 'app.test' });
  t.equal(r.body.decision, 'deny');
  t.equal(r.body.by, 'posture:app');
  t.equal(r.body.rule, null);
  await admin(h.adminPort, 'POST', '/rules', { id: 'no-ops-443', from: { segment: 'ops' }, to: { port: 443 }, action: 'deny', priority: 5 });
  r = await ev({ src: 'fd00:30::1', sni: 'app.test', port: 443 });
  t.equal(r.body.decision, 'deny', 'IPv6 source in the segment');
  t.equal(r.body.rule?.id, 'no-ops-443', 'the higher-priority rule decides');
  r = await ev({ src: 'fd00:30::1', sni: 'app.test', port: 8443 });
  t.equal(r.body.rule?.id, 'ops-to-app');
  r = await ev({ src: 'not-an-address', port: 'x' });
  t.equal(r.status, 400);
});

t.test('a bad rule changes nothing', async (t) => {
  const h = await startWeaver(segConfig(OPTIONS, { upstreamPort: origin.port }));
  t.teardown(() => h.stop());
  const auditFile = join(h.weaver.config.stateDir, 'plugins/segmentation/segmentation-audit.jsonl');
  const before = await admin<{ total: number }>(h.adminPort, 'GET', '/rules');
  const auditBefore = readFileSync(auditFile, 'utf8');
  const bad: Array<[unknown, RegExp]> = [
    [{ from: { segment: 'nope' }, action: 'deny' }, /from.segment: no segment named "nope"/],
    [{ from: { cidr: '300.1.1.1/8' }, action: 'deny' }, /from.cidr: "300.1.1.1\/8" is not/],
    [{ action: 'drop' }, /action/],
    [{ action: 'deny', priority: 'high' }, /priority/],
    [{ action: 'deny', expiresAt: 'tomorrow' }, /expiresAt/],
    [{ action: 'deny', colour: 'red' }, /colour|additional/i],
    [{ from: { segment: 'app', cidr: '127.0.0.1' }, action: 'deny' }, /not both/],
    [{ id: 'ops-to-app', action: 'deny' }, /exists/],
    ['deny everything', /JSON object/],
  ];
  for (const [rule, message] of bad) {
    const res = await admin<{ code: string; error: string }>(h.adminPort, 'POST', '/rules', rule);
    t.equal(res.status, 400, JSON.stringify(rule));
    t.equal(res.body.code, 'WEAVER_ERR_SEG_RULE');
    t.match(res.body.error, message);
  }
  const change = await admin<{ code: string }>(h.adminPort, 'PUT', '/rules?id=ops-to-app', { action: 'deny' });
  t.equal(change.status, 409, 'a config rule is changed in the config file');
  const entry = await admin(h.adminPort, 'POST', '/entries', { segment: 'app', kind: 'cidr', value: '10.0.0.0/33' });
  t.equal(entry.status, 400);
  const after = await admin<{ total: number }>(h.adminPort, 'GET', '/rules');
  t.equal(after.body.total, before.body.total, 'no rule was added');
  t.equal(readFileSync(auditFile, 'utf8'), auditBefore, 'nothing was written to the audit log');
  t.equal(await httpsGet(h.port, '127.10.0.5'), 200, 'traffic goes on as before');
});

t.test('a bad policy in the config stops the start with a clear error', async (t) => {
  await t.rejects(startWeaver(segConfig(`      rules: [{ id: x, from: { segment: ghost }, action: deny }]\n`)), { code: 'WEAVER_ERR_PLUGIN_OPTIONS', message: /from.segment: no segment named "ghost"/ });
  await t.rejects(startWeaver(segConfig(`      segments: { a: { cidrs: [10.0.0.0/40] } }\n`)), { code: 'WEAVER_ERR_PLUGIN_OPTIONS', message: /segment "a": "10.0.0.0\/40" is not an IPv4\/IPv6 address or prefix/ });
});
