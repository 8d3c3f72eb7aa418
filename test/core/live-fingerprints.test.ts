// The fingerprints that reach onClientHello on a live connection are the ones
// `weaver fingerprint` computes from the same bytes on the wire.
import t, { type Test } from 'tap';
import tls from 'node:tls';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { request } from 'undici';
import type { Fingerprints } from '../../proxy/clienthello/types.ts';
import { startWeaver, repoRoot } from '../support/weaver-harness.ts';

const run = promisify(execFile);

const h = await startWeaver(`
listeners: [{ name: https, port: 0 }]
handshakePools:
  primary: { kind: local, certificates: [{ dev: true, hosts: [localhost] }] }
plugins:
  - use: ${repoRoot}test/fixtures/plugins/hello-capture.ts
admin: { port: 0 }
`);
t.teardown(() => h.stop());

interface Seen extends Fingerprints {
  sni?: string;
  alpn: string[];
  rawHex: string;
  records: number;
}

async function seen(): Promise<Seen[]> {
  return (await (await request(`http://127.0.0.1:${h.adminPort}/api/plugins/hello-capture/seen`)).body.json()) as Seen[];
}

async function lastAfter(action: () => Promise<unknown>): Promise<Seen> {
  const before = (await seen()).length;
  await action();
  for (let i = 0; i < 100; i++) {
    const all = await seen();
    if (all.length > before) return all[all.length - 1]!;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no hello captured');
}

function weaverFingerprint(hex: string): Record<string, unknown> {
  const r = spawnSync(process.execPath, [`${repoRoot}bin/weaver`, 'fingerprint', '--hex', hex], { encoding: 'utf8' });
  return JSON.parse(r.stdout.trim().split('\n')[0]!) as Record<string, unknown>;
}

function same(t: Test, s: Seen): void {
  const cli = weaverFingerprint(s.rawHex);
  for (const k of ['ja3', 'ja3_string', 'ja4', 'ja4_r', 'ja4_o', 'ja4_ro'] as const) t.equal(s[k], cli[k], `${k} matches the CLI`);
}

const openssl = (args: string[]) =>
  run('openssl', ['s_client', '-connect', `127.0.0.1:${h.port}`, ...args], { timeout: 10_000 }).catch(() => undefined);

t.test('curl', async (t) => {
  const s = await lastAfter(() => run('curl', ['-sk', '--max-time', '5', `https://localhost:${h.port}/`]).catch(() => undefined));
  t.equal(s.sni, 'localhost');
  t.ok(s.alpn.includes('h2'), 'curl offers h2');
  same(t, s);
});

t.test('openssl s_client, hello split over records by -max_send_frag 512', async (t) => {
  // A plain s_client hello is under 512 bytes; a long ALPN list pushes it over so it splits.
  const alpn = Array.from({ length: 40 }, (_, i) => `proto-${i}`).join(',');
  const s = await lastAfter(() => openssl(['-servername', 'localhost', '-max_send_frag', '512', '-alpn', alpn]));
  t.ok(s.records >= 2, `${s.records} records`);
  same(t, s);
});

t.test('openssl s_client -tls1_2 -noservername', async (t) => {
  const s = await lastAfter(() => openssl(['-tls1_2', '-noservername']));
  t.equal(s.sni, undefined, 'no SNI');
  t.match(s.ja4, /^t12i/, 'TLS 1.2, no SNI');
  same(t, s);
});

t.test('node tls', async (t) => {
  const s = await lastAfter(
    () =>
      new Promise<void>((resolve) => {
        const c = tls.connect({ port: h.port, host: '127.0.0.1', servername: 'localhost', ALPNProtocols: ['http/1.1'], rejectUnauthorized: false }, () => {
          c.destroy();
          resolve();
        });
        c.on('error', () => resolve());
      }),
  );
  t.match(s.ja4, /^t13d\d{4}h1_/);
  same(t, s);
});
