// Across config reloads: connections accepted before a reload stay with the old runtime (and
// the old plugin instance's hooks) until they close, but the newest instance decides for them.
// A deny rule added through the API after a reload cuts a pre-reload connection; a reload whose
// config denies a source cuts its live flows; after a reload refused once the segmentation
// plugin was set up, the instance still serving decides again; the audit log stays one chain.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { verifyAudit } from '../../plugins/segmentation/audit-verify.ts';
import { startWeaver } from '../support/weaver-harness.ts';
import { admin, connectTls, segConfig, sleep, tryTls, type Held } from './support.ts';

// Idle connections held for the whole test: neither the drain nor the keep-alive timeout may close them.
const config = (options: string, extraPlugins = ''): string =>
  `${segConfig(`      segments:\n        app: { cidrs: [127.10.0.0/16] }\n${options}`, { extraPlugins })}drainTimeoutMs: 60000\nhttp: { keepAliveTimeoutMs: 60000 }\n`;
const cutWithin = async (held: Held, ms = 2_000): Promise<boolean> => (await Promise.race([held.closed, sleep(ms).then(() => -1)])) !== -1;

t.test('a pre-reload connection is cut by a rule added after the reload', async (t) => {
  const h = await startWeaver(config(''));
  t.teardown(() => h.stop());
  const reload = async (yaml: string) => {
    writeFileSync(join(h.dir, 'weaver.yaml'), yaml);
    const res = await request(`http://127.0.0.1:${h.adminPort}/api/reload`, { method: 'POST' });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  };
  const held = await Promise.all(['127.10.0.7', '127.10.0.8', '127.10.0.9', '127.10.0.10'].map((src) => connectTls(h.port, src)));
  t.teardown(() => held.forEach((c) => c.socket.destroy()));
  const [first, second, third, fourth] = held as [Held, Held, Held, Held];

  const ok = await reload(config('        extra: { cidrs: [127.11.0.0/16] }\n'));
  t.equal(ok.status, 200);
  t.match(ok.body, { reloaded: true, draining: 4 }, 'the four connections stay with the old runtime');
  t.match((await admin(h.adminPort, 'GET', '/flows')).body, { live: 4 }, 'the new instance holds the old instance\'s flows');
  const added = await admin(h.adminPort, 'POST', '/rules', { id: 'block-7', from: { cidr: '127.10.0.7' }, action: 'deny' });
  t.equal(added.status, 201);
  t.ok(await cutWithin(first), 'the pre-reload connection from that source was cut');
  t.notOk(second.socket.destroyed, 'one from another source goes on');
  t.equal(await tryTls(h.port, '127.10.0.7'), 'refused', 'a new connection from the source is refused');

  const denying = await reload(config('      rules:\n        - { id: cfg-deny, from: { cidr: 127.10.0.8 }, action: deny }\n        - { id: cfg-deny-10, from: { cidr: 127.10.0.10 }, to: { port: 1 }, action: deny }\n'));
  t.equal(denying.status, 200);
  t.ok(await cutWithin(second), 'a reload whose config denies a source cuts its live flow');
  t.notOk(third.socket.destroyed);

  // The segmentation instance of this reload is set up, then stopped when the next plugin fails
  // to load: the instance of the runtime still serving decides again.
  const refused = await reload(config('', '  - use: ./no-such-plugin.ts\n'));
  t.not(refused.status, 200, 'the reload is refused');
  await h.waitForLog((l) => String(l.msg).startsWith('reload refused'));
  t.notOk(third.socket.destroyed, 'the refused config (no rule on 127.10.0.8 or .9) cut nothing');
  const changed = await admin(h.adminPort, 'PUT', '/rules?id=cfg-deny-10', {});
  t.equal(changed.status, 409, 'the API still talks to the instance whose config holds cfg-deny-10');
  t.equal((await admin(h.adminPort, 'POST', '/rules', { id: 'block-9', from: { cidr: '127.10.0.9' }, action: 'deny' })).status, 201);
  t.ok(await cutWithin(third), 'a rule added after the refused reload cuts a connection from two reloads ago');
  t.notOk(fourth.socket.destroyed, 'the rest go on');

  const file = join(h.dir, '.weaver', 'plugins', 'segmentation', 'segmentation-audit.jsonl');
  const verified = verifyAudit([file]);
  t.match(verified, { ok: true }, 'one unbroken audit chain across the instances');
});
