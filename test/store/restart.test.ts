// api.store through a real Weaver: what a plugin stored is there again after Weaver stops and
// starts on the same stateDir, and a reload's new plugin instance sees the same namespace.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import t from 'tap';
import { request } from 'undici';
import { startWeaver, repoRoot } from '../support/weaver-harness.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'weaver-state-'));
t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));

const yaml = (extra = '') => `
stateDir: ${stateDir}
store: { snapshotIntervalMs: 60000 }
listeners: [{ name: https, port: 0 }]
handshakePools:
  primary: { kind: local, certificates: [{ dev: true, hosts: [localhost] }] }
plugins:
  - use: ${repoRoot}test/fixtures/plugins/store-counter.ts
${extra}
admin: { port: 0 }
`;

async function admin(port: number, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const res = await request(`http://127.0.0.1:${port}/api/plugins/store-counter${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
  });
  return res.statusCode === 204 ? undefined : res.body.json();
}

function connectOnce(port: number): Promise<void> {
  return new Promise((resolve) => {
    const s = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false }, () => s.end());
    s.on('close', () => resolve());
    s.on('error', () => undefined);
  });
}

t.test('plugin state survives a restart on the same stateDir', async (t) => {
  const first = await startWeaver(yaml());
  await admin(first.adminPort, 'POST', '/value', { key: 'profile:127.0.0.9', value: { score: 0.7, seen: 3 } });
  await admin(first.adminPort, 'POST', '/value', { key: 'temp', value: 1, ttlMs: 1 });
  for (let i = 0; i < 3; i++) await connectOnce(first.port);
  await first.stop(); // removes the harness's config dir; stateDir is ours and stays

  const second = await startWeaver(yaml());
  t.teardown(() => second.stop());
  t.same(await admin(second.adminPort, 'GET', '/value?key=profile:127.0.0.9'), { value: { score: 0.7, seen: 3 } });
  t.same(await admin(second.adminPort, 'GET', '/value?key=connections'), { value: 3 }, 'the counter kept by the hook came back');
  t.same(await admin(second.adminPort, 'GET', '/value?key=temp'), { value: null }, 'an expired entry did not');
  await connectOnce(second.port);
  t.same(await admin(second.adminPort, 'GET', '/value?key=connections'), { value: 4 }, 'and counting goes on from it');
});

t.test('a reload hands the new plugin instance the same namespace', async (t) => {
  const h = await startWeaver(yaml());
  t.teardown(() => h.stop());
  await admin(h.adminPort, 'POST', '/value', { key: 'a', value: 'before' });
  await h.weaver.reload((await import('../../proxy/config/load.ts')).loadConfigText(yaml('    timeoutMs: 300'), join(h.dir, 'weaver.yaml')));
  t.same(await admin(h.adminPort, 'GET', '/entries?prefix=a'), { a: 'before' });
});
