// Feeds from a loopback URL and from files: loaded, refreshed on schedule, and when the source
// starts failing (HTTP 500, garbage, a hang, too many bytes, a missing file) the last good copy
// stays and the status says why. Non-loopback URLs are refused unless allowed.
import t from 'tap';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IntelEntry } from '../../plugins/segmentation/intel/entries.ts';
import { FeedLoader, type FeedUpdateInfo } from '../../plugins/segmentation/intel/loader.ts';
import type { FeedConfig, IntelOptions } from '../../plugins/segmentation/intel/options.ts';
import { sharedDataPath } from '../support/shared-data.ts';

const drop = readFileSync(sharedDataPath('blocklists/spamhaus_drop_2023-02-20.txt'), 'utf8');

let reply: (res: ServerResponse) => void = (res) => res.end(drop);
let hits = 0;
const server = createServer((_req, res) => {
  hits++;
  reply(res);
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
t.teardown(() => {
  server.closeAllConnections();
  server.close();
});

const feed = (over: Partial<FeedConfig> & { name: string }): FeedConfig => ({ format: 'auto', action: 'deny', refreshMs: 3_600_000, timeoutMs: 2_000, maxBytes: 1 << 20, ...over });
const intel = (feeds: FeedConfig[], over: Partial<IntelOptions> = {}): IntelOptions => ({ feeds, allowRemoteUrls: false, downgradeBenignJa3: true, benignJa3: [], ...over });

function collect(): { current: Map<string, IntelEntry[]>; updates: FeedUpdateInfo[]; onUpdate: (n: string, e: IntelEntry[], i: FeedUpdateInfo) => void } {
  const current = new Map<string, IntelEntry[]>();
  const updates: FeedUpdateInfo[] = [];
  return { current, updates, onUpdate: (n, e, i) => (current.set(n, e), updates.push(i)) };
}

t.test('a loopback URL feed keeps its last good copy when the server starts failing', async (t) => {
  const c = collect();
  const loader = new FeedLoader({ options: intel([feed({ name: 'drop', url: `${base}/drop.txt`, action: 'flag' })]), baseDir: '/', onUpdate: c.onUpdate });
  t.teardown(() => loader.stop());
  await loader.start();
  t.equal(c.current.get('drop')?.length, 936);
  t.match(c.current.get('drop')![0], { kind: 'cidr', cidr: '1.10.16.0/20', note: 'SBL256894', action: 'flag' });
  t.match(c.updates[0], { feed: 'drop', source: `${base}/drop.txt`, format: 'spamhaus-drop', action: 'flag', skipped: 0 });

  reply = (res) => res.end(`${drop}\n198.18.99.0/24 ; SBL999999\n`);
  let s = await loader.refresh('drop');
  t.match(s, { ok: true, entries: 937 });
  t.match(c.current.get('drop')!.at(-1), { cidr: '198.18.99.0/24', note: 'SBL999999' });

  const updatesBefore = c.updates.length;
  await loader.refresh('drop');
  t.equal(c.updates.length, updatesBefore, 'unchanged content is not handed over again');

  const failures: Array<[string, (res: ServerResponse) => void, RegExp]> = [
    ['HTTP 500', (res) => ((res.statusCode = 500), res.end('oops')), /HTTP 500/],
    ['a redirect', (res) => (res.writeHead(302, { location: 'http://198.18.0.1/' }), res.end()), /HTTP 302/],
    ['an HTML error page', (res) => res.end('<html><body>maintenance</body></html>'), /cannot tell the feed format/],
    ['too many bytes', (res) => res.end('10.0.0.0/8\n'.repeat(200_000)), /more than 1048576 bytes/],
    ['a hang', () => undefined, /timeout|aborted/i],
  ];
  for (const [what, fn, message] of failures) {
    reply = fn;
    s = await loader.refresh('drop');
    t.equal(s.ok, false, what);
    t.match(s.lastError?.message, message, what);
    t.equal(c.current.get('drop')?.length, 937, `${what}: the last good copy stays`);
    t.equal(s.entries, 937);
  }
  reply = (res) => res.end(drop);
  s = await loader.refresh('drop');
  t.match(s, { ok: true, entries: 936 }, 'recovers when the server does');
});

t.test('a key in the URL stays out of the status and the errors', async (t) => {
  reply = (res) => ((res.statusCode = 403), res.end());
  const loader = new FeedLoader({ options: intel([feed({ name: 'keyed', url: `http://user:s3cret@127.0.0.1:${new URL(base).port}/drop?key=TOPSECRET` })]), baseDir: '/', onUpdate: () => undefined });
  await loader.start();
  loader.stop();
  const [s] = loader.status();
  t.match(s, { ok: false, source: `http://***@127.0.0.1:${new URL(base).port}/drop?***`, lastError: { message: /HTTP 403/ } });
  t.notMatch(JSON.stringify(s), /s3cret|TOPSECRET/);
});

t.test('feeds refresh on their schedule', async (t) => {
  reply = (res) => res.end(`198.18.1.${hits % 250}\n`);
  const c = collect();
  const loader = new FeedLoader({ options: intel([feed({ name: 'tick', url: `${base}/tick`, format: 'plain', refreshMs: 1_000 })]), baseDir: '/', onUpdate: c.onUpdate });
  t.teardown(() => loader.stop());
  await loader.start();
  const first = c.current.get('tick')![0];
  for (let i = 0; i < 40 && c.updates.length < 2; i++) await sleep(100);
  t.equal(c.updates.length, 2, 'a second load came without being asked');
  t.not(c.current.get('tick')![0], first);
  loader.stop();
  const after = hits;
  await sleep(1_300);
  t.equal(hits, after, 'stop() ends the schedule');
});

t.test('file feeds: relative paths, and a missing file does not stop the others', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'seg-intel-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ours.txt'), '198.18.7.0/24 lab\n');
  const c = collect();
  const loader = new FeedLoader({
    options: intel([feed({ name: 'ours', path: 'ours.txt' }), feed({ name: 'gone', path: 'missing.netset' }), feed({ name: 'feodo', path: sharedDataPath('blocklists/feodo_ipblocklist_2024-04-04.csv') })]),
    baseDir: dir,
    onUpdate: c.onUpdate,
  });
  await loader.start();
  loader.stop();
  t.same(c.current.get('ours'), [{ kind: 'cidr', cidr: '198.18.7.0/24', family: 4, note: 'lab', action: 'deny' }]);
  t.equal(c.current.get('feodo')?.length, 28);
  const gone = loader.status().find((s) => s.name === 'gone')!;
  t.match(gone, { ok: false, source: join(dir, 'missing.netset'), lastError: { code: 'WEAVER_ERR_INTEL_FETCH', message: /ENOENT/ } });
});

t.test('configuration errors', async (t) => {
  const make = (feeds: FeedConfig[], over: Partial<IntelOptions> = {}) => () => new FeedLoader({ options: intel(feeds, over), baseDir: '/', onUpdate: () => undefined });
  t.throws(make([feed({ name: 'x', url: 'http://198.18.0.1/list.txt' })]), { code: 'WEAVER_ERR_INTEL_URL', message: /not a loopback address/ });
  t.throws(make([feed({ name: 'x', url: 'http://feeds.example/list.txt' })]), { code: 'WEAVER_ERR_INTEL_URL' });
  t.throws(make([feed({ name: 'x', url: 'file:///etc/passwd' })]), { code: 'WEAVER_ERR_INTEL_URL', message: /only http and https/ });
  t.doesNotThrow(make([feed({ name: 'x', url: 'http://[::1]:9/list' }), feed({ name: 'y', url: 'https://localhost/list' })]));
  t.doesNotThrow(make([feed({ name: 'x', url: 'http://198.18.0.1/list.txt' })], { allowRemoteUrls: true }), 'allowed on purpose');
  t.throws(make([feed({ name: 'x' })]), { code: 'WEAVER_ERR_INTEL_CONFIG', message: /exactly one of path and url/ });
  t.throws(make([feed({ name: 'x', path: 'a', url: `${base}/a` })]), { code: 'WEAVER_ERR_INTEL_CONFIG' });
  t.throws(make([feed({ name: 'x', path: 'a' }), feed({ name: 'x', path: 'b' })]), { code: 'WEAVER_ERR_INTEL_CONFIG', message: /twice/ });
});
