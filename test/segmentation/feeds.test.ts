// Threat-intel feeds in a real Weaver: every blocklist format in ../shared/data/blocklists and
// the SSLBL JA3 list loads (each copy with one loopback entry added in that format, one of them
// served over a loopback URL), and a listed source is refused — or only flagged, as configured
// — on real TLS connections from 127.x.y.z sources.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import t from 'tap';
import { ja3 } from '../../proxy/clienthello/ja3.ts';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { startCaptureServer } from '../support/capture-server.ts';
import { sharedDataPath } from '../support/shared-data.ts';
import { startWeaver } from '../support/weaver-harness.ts';
import { admin, httpsGet, segConfig, tryTls } from './support.ts';

const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
t.teardown(() => origin.close());

// The JA3 of this process's TLS client, as the proxy will compute it.
const capture = await startCaptureServer();
const probe = tls.connect({ host: '127.0.0.1', port: capture.port, servername: 'app.test', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
probe.on('error', () => undefined);
const captured = await capture.next();
probe.destroy();
await capture.close();
if (!captured.ok) throw new Error('no ClientHello captured');
const ourJa3 = ja3(captured.hello).ja3;

const read = (name: string) => readFileSync(sharedDataPath(`blocklists/${name}`), 'utf8');
const feodo = read('feodo_ipblocklist_2024-04-04.csv').trimEnd().split('\n');
feodo.splice(-1, 0, '"2024-04-01 00:00:00","127.75.0.1","443","online","2024-04-03","Test"');
const sslbl = readFileSync(sharedDataPath('ja3/sslbl_ja3_fingerprints.csv'), 'utf8').trimEnd().split('\n');
sslbl.splice(-1, 0, `${ourJa3},2024-01-01 00:00:00,2024-01-02 00:00:00,TestMalware`);
const FEEDS: Array<{ name: string; file: string; text: string; format: string; listed?: string; action?: 'flag' }> = [
  // firehol_level1 lists 127.0.0.0/8 among the bogons, which would refuse every test source.
  { name: 'firehol', file: 'firehol.netset', text: `${read('firehol_level1_2021-06-28.netset').replace(/^127\.0\.0\.0\/8\n/m, '')}127.71.0.0/24\n`, format: 'firehol-netset', listed: '127.71.0.9' },
  { name: 'drop', file: 'drop.txt', text: `${read('spamhaus_drop_2023-02-20.txt')}127.72.0.0/24 ; SBL000001\n`, format: 'spamhaus-drop', listed: '127.72.0.9' },
  { name: 'dropjson', file: 'drop.json', text: `${read('spamhaus_drop_v4_2025-04-15.json')}{"cidr":"127.73.0.0/24","sblid":"SBL000002","rir":"test"}\n`, format: 'spamhaus-drop-json', listed: '127.73.0.9' },
  { name: 'dropv6', file: 'dropv6.txt', text: `${read('spamhaus_dropv6_cidr-only_2024-02-27.txt')}127.74.0.0/24\n`, format: 'plain', listed: '127.74.0.9', action: 'flag' },
  { name: 'feodo', file: 'feodo.csv', text: `${feodo.join('\n')}\n`, format: 'feodo-csv', listed: '127.75.0.1' },
  { name: 'sslbl', file: 'sslbl.csv', text: `${sslbl.join('\n')}\n`, format: 'sslbl-ja3-csv' },
];

// One feed comes over a loopback URL, the others from files.
const served = createServer((req, res) => res.end(FEEDS.find((f) => `/${f.file}` === req.url)?.text ?? ''));
await new Promise<void>((r) => served.listen(0, '127.0.0.1', r));
t.teardown(() => served.close());
const urlPort = (served.address() as AddressInfo).port;

function options(onlyJa3: boolean): string {
  const feeds = FEEDS.filter((f) => (f.name === 'sslbl') === onlyJa3).map((f) => {
    const where = f.name === 'feodo' ? `url: "http://127.0.0.1:${urlPort}/${f.file}"` : `path: ${f.file}`;
    return `          - { name: ${f.name}, ${where}, action: ${f.action ?? 'deny'} }`;
  });
  return `      intel:\n        feeds:\n${feeds.join('\n')}\n`;
}
const setup = (dir: string) => {
  for (const f of FEEDS) writeFileSync(join(dir, f.file), f.text);
};

t.test('address feeds: every format loads; listed sources are refused or flagged', async (t) => {
  const h = await startWeaver(`${segConfig(options(false), { upstreamPort: origin.port })}log: { level: info, accessLog: true }\n`, { setup });
  t.teardown(() => h.stop());
  const status = (await admin<Array<{ name: string; ok: boolean; entries: number; lastError?: unknown }>>(h.adminPort, 'GET', '/feeds')).body;
  for (const f of FEEDS.filter((x) => x.name !== 'sslbl')) {
    const s = status.find((x) => x.name === f.name);
    t.ok(s?.ok, `${f.name} (${f.format}) loaded`);
    t.ok((s?.entries ?? 0) > 1, `${f.name}: ${s?.entries} entries`);
    if (f.action === 'flag') {
      t.equal(await httpsGet(h.port, f.listed!), 200, `${f.name}: ${f.listed} is let through (flag)`);
      const line = await h.waitForLog((l) => (l.tags as Record<string, unknown> | undefined)?.['seg.flag'] === `feed:${f.name}:flag`);
      t.ok(line, `${f.name}: the access log shows the flag`);
    } else {
      t.equal(await tryTls(h.port, f.listed!), 'refused', `${f.name}: ${f.listed} is refused`);
      await h.waitForLog((l) => l.msg === 'connection rejected' && l.reason === `segmentation: rule:feed:${f.name}`);
    }
  }
  t.equal(await httpsGet(h.port, '127.79.0.1'), 200, 'an unlisted source gets through');
  const ev = await admin<{ decision: string; flags: string[] }>(h.adminPort, 'POST', '/evaluate', { src: '2a12:2640::1' });
  t.match(ev.body, { decision: 'allow', flags: ['feed:dropv6:flag'] }, 'an IPv6 entry of the v6 list is flagged');
  const rules = await admin<{ rules: Array<{ id: string; origin: string }> }>(h.adminPort, 'GET', '/rules?origin=feed');
  t.ok(rules.body.rules.some((r) => r.id === 'feed:firehol' && r.origin === 'feed:firehol'), 'feed rules are attributed to their feed');
  const log = readFileSync(join(h.weaver.config.stateDir, 'plugins/segmentation/segmentation-audit.jsonl'), 'utf8');
  t.match(log, /"type":"entries.replace","who":"feed:firehol","segment":"feed:firehol"/, 'the load is in the audit log');
});

t.test('the SSLBL JA3 list: a listed client is refused, a JA3 benign software shares is only flagged', async (t) => {
  const h = await startWeaver(segConfig(options(true), { upstreamPort: origin.port }), { setup });
  t.teardown(() => h.stop());
  const status = (await admin<Array<{ name: string; ok: boolean; entries: number }>>(h.adminPort, 'GET', '/feeds')).body;
  t.ok(status[0]?.ok && status[0].entries > 90, `sslbl loaded ${status[0]?.entries} JA3s`);
  t.equal(await tryTls(h.port, '127.76.0.1'), 'refused', 'our client, listed by JA3, is refused at the ClientHello');
  await h.waitForLog((l) => l.msg === 'connection rejected' && l.reason === 'segmentation: rule:feed:sslbl' && l.phase === 'clienthello');
  const flagged = await admin<{ entries: Array<{ value: string }> }>(h.adminPort, 'GET', '/segments?name=feed:sslbl:flag');
  t.ok(flagged.body.entries.length > 0, `${flagged.body.entries.length} listed JA3s are also benign software's`);
  const ev = await admin<{ decision: string; flags: string[] }>(h.adminPort, 'POST', '/evaluate', { src: '127.76.0.2', ja3: flagged.body.entries[0]!.value });
  t.equal(ev.body.decision, 'allow');
  t.same(ev.body.flags, ['feed:sslbl:flag']);
});
