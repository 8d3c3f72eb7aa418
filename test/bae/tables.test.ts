// The hot path's bounded tables, on their own: client profiles as rows of integers (two
// generations of Maps from key to row, rows reused from a free list, changed rows saved once),
// the client-random counts (two generations of typed hash tables), a fingerprint's distinct
// sources over the hour, the forest's memo, and the per-address explanations of the latest
// decisions (first in, first out among addresses).
import { join } from 'node:path';
import t from 'tap';
import { Registry } from 'prom-client';
import type { PluginStore } from 'weaver';
import { SqliteStateStore } from '../../proxy/store/sqlite-store.ts';
import { CountTable } from '../../plugins/bae/count-table.ts';
import { DecisionLog, type Decision } from '../../plugins/bae/decisions.ts';
import { newDynamic, VECTOR_SIZE } from '../../plugins/bae/features.ts';
import { PrintStats, PrintTable } from '../../plugins/bae/fingerprints.ts';
import { FIELDS, ROW } from '../../plugins/bae/profile-row.ts';
import { keyOf, ProfileTable } from '../../plugins/bae/profile-table.ts';
import { digestPair, digestSecret } from '../../plugins/bae/digest.ts';
import { nowS } from '../../plugins/bae/profiles.ts';
import type { Shape } from '../../plugins/bae/shape.ts';
import { ReasonList } from '../../plugins/bae/scoring.ts';
import { ScoreMemo } from '../../plugins/bae/score-memo.ts';
import { createTelemetry, flushCounts, Tallies } from '../../plugins/bae/telemetry.ts';
import { createPluginMetrics } from '../../proxy/plugin/metrics.ts';
import { tempDir } from '../support/temp-dir.ts';

t.test('a profile row reads back every field it was given', async (t) => {
  const table = new ProfileTable('a:', 100, 60_000);
  const p = table.touch('10.0.0.1', undefined, 5);
  t.equal(ROW, FIELDS.length);
  FIELDS.forEach((f, i) => (p[f] = 1000 + i));
  const back = table.peek(keyOf('10.0.0.1'), 5)!;
  t.same(FIELDS.map((f) => back[f]), FIELDS.map((_, i) => 1000 + i), 'each accessor has its own column');
  t.equal(table.touch('10.0.0.2', undefined, 5).conns, 0, 'a new key gets a clean row');
});

t.test('profiles: two generations, rows reused, TTL', async (t) => {
  const table = new ProfileTable('a:', 10, 60_000);
  for (let i = 0; i < 10; i++) table.touch(`k${i}`, undefined, 1).conns = i + 1;
  t.equal(table.size, 10);
  table.touch('k0', undefined, 1); // moves to the current generation
  for (let i = 10; i < 15; i++) table.touch(`k${i}`, undefined, 1).conns = i + 1;
  t.ok(table.size <= 10, `bounded: ${table.size}`);
  t.equal(table.peek(keyOf('k0'), 1)?.conns, 1, 'a returning key kept its profile');
  t.equal(table.peek(keyOf('k1'), 1), undefined, 'the oldest generation was dropped');
  t.equal(table.peek(keyOf('k14'), 1)?.conns, 15, 'a reused row holds its new profile');
  const stale = table.touch('k14', undefined, 1 + 61);
  t.equal(stale.conns, 0, 'a profile past its TTL starts over');
  t.equal(stale.first, 62);
});

t.test('profiles: address and address+JA4 keys, and a move that drops the generation it leaves', async (t) => {
  const table = new ProfileTable('c:', 4, 60_000);
  table.touch('198.18.0.1', undefined, 1).conns = 1;
  table.touch('198.18.0.1', 't13d1516h2_8daaf6152771_02713d6af862', 1).conns = 2;
  t.equal(table.peek(keyOf('198.18.0.1'), 1)?.conns, 1);
  t.equal(table.peek(keyOf('198.18.0.1', 't13d1516h2_8daaf6152771_02713d6af862'), 1)?.conns, 2);
  t.same([...table.entries()].map(([k]) => k).sort(), ['198.18.0.1', '198.18.0.1|t13d1516h2_8daaf6152771_02713d6af862']);
  const ja4 = 't13d1516h2_8daaf6152771_02713d6af862';
  t.equal(table.peek(digestPair(digestSecret('198.18.0.1'), digestSecret(ja4)), 1)?.conns, 2, 'a key made from digests the caller holds finds the same row');
  t.not(keyOf('198.18.0.1', '2'), keyOf('198.18.0.12', ''), 'the parts of a key do not run into each other');
  table.touch('k2', undefined, 1); // the current generation (2 keys) was full: the first two are now the previous one
  table.touch('k3', undefined, 1);
  t.equal(table.peek(keyOf('198.18.0.1'), 1)?.conns, 1, 'moved out of the generation its move dropped');
  t.equal(table.peek(keyOf('198.18.0.1', 't13d1516h2_8daaf6152771_02713d6af862'), 1), undefined, 'the rest of that generation is gone');
  t.equal(table.size, 3);
});

t.test('profiles: changed rows are saved once and come back', async (t) => {
  const store = SqliteStateStore.open({ file: join(tempDir(t), 'state.db'), snapshotIntervalMs: 60_000 });
  t.teardown(() => store.close());
  const ns = store.namespace('bae');
  const table = new ProfileTable('a:', 100, 3_600_000);
  const now = nowS();
  const busy = table.touch('198.18.0.1', undefined, now);
  busy.conns = 2;
  busy.requests = 3;
  table.touch('198.18.0.2', undefined, now).conns = 1; // one clean handshake: not worth saving
  t.equal(await table.save(ns), 1);
  t.equal(await table.save(ns), 0, 'nothing changed since');
  table.markChanged(keyOf('198.18.0.1'));
  t.equal(await table.save(ns), 0, 'changed, but nothing a restart would miss');
  busy.requests = 4;
  busy.rate = 900;
  table.markChanged(keyOf('198.18.0.1'));
  t.equal(await table.save(ns), 1, 'a count that reached the next power of two is written');
  busy.requests = 5;
  table.markChanged(keyOf('198.18.0.1'));
  t.equal(await table.save(ns), 0);
  busy.uaMismatch = 1;
  table.markChanged(keyOf('198.18.0.1'));
  t.equal(await table.save(ns), 1, 'evidence is written as soon as it changes');
  busy.requests = 6;
  table.markChanged(keyOf('198.18.0.1'));
  t.equal(await table.save(ns, undefined, true), 1, 'the save at stop writes every changed profile');
  const back = new ProfileTable('a:', 100, 3_600_000);
  t.equal(await back.restore(ns), 1);
  t.match(back.peek(keyOf('198.18.0.1'), now), { conns: 2, requests: 6, uaMismatch: 1 });
});

t.test('profiles: an unchanged profile is written again once its stored copy is half its TTL old', async (t) => {
  const written: string[] = [];
  const store = { async set(key: string) { written.push(key); } } as unknown as PluginStore;
  const table = new ProfileTable('a:', 100, 10_000);
  table.touch('198.18.0.1', undefined, nowS()).conns = 2;
  t.equal(await table.save(store), 1);
  table.markChanged(keyOf('198.18.0.1'));
  t.equal(await table.save(store), 0);
  const realNow = Date.now;
  t.teardown(() => void (Date.now = realNow));
  Date.now = () => realNow() + 6_000;
  table.markChanged(keyOf('198.18.0.1'));
  t.equal(await table.save(store), 1, 'its TTL is 10 s, its stored copy 6 s old');
});

t.test('profiles: a save that fails leaves what it did not write for the next save', async (t) => {
  const written: string[] = [];
  let fail = true;
  const store = {
    async set(key: string) {
      if (fail) {
        fail = false;
        throw new Error('store down');
      }
      written.push(key);
    },
  } as unknown as PluginStore;
  const table = new ProfileTable('a:', 100, 3_600_000);
  const now = nowS();
  for (const addr of ['198.18.0.1', '198.18.0.2', '198.18.0.3']) table.touch(addr, undefined, now).conns = 2;
  await t.rejects(table.save(store), /store down/);
  t.equal(await table.save(store), 3, 'every profile the failed save did not write is written by the next');
  t.same(written.sort(), ['a:198.18.0.1', 'a:198.18.0.2', 'a:198.18.0.3']);
});

t.test('a profile count stops at the largest 32-bit integer', async (t) => {
  const p = new ProfileTable('a:', 100, 60_000).touch('198.18.0.1', undefined, 1);
  p.requests = 2 ** 31 + 5;
  t.equal(p.requests, 2 ** 31 - 1);
  p.requests++;
  t.equal(p.requests, 2 ** 31 - 1, 'and does not wrap negative');
});

t.test('client-random counts: generations, TTL, saturation', async (t) => {
  const counts = new CountTable(8, 60_000, 0);
  t.equal(counts.bump(12345, 0), 0);
  t.equal(counts.bump(12345, 0), 1);
  for (let i = 0; i < 300; i++) counts.bump(99, 0);
  t.equal(counts.bump(99, 0), 255, 'a count stops at 255');
  for (let k = 1; k <= 3; k++) counts.bump(1e15 + k, 0); // fills the current generation (4 keys)
  t.equal(counts.bump(12345, 0), 2, 'a key in the previous generation is still counted');
  for (let k = 10; k <= 20; k++) counts.bump(1e15 + k, 0);
  t.ok(counts.size <= 8, `bounded: ${counts.size}`);
  t.equal(counts.bump(99, 0), 0, 'pushed out by max/2 newer keys');
  t.equal(counts.bump(7, 0), 0);
  t.equal(counts.bump(8, 0), 0);
  t.equal(counts.bump(7, 60_000 + 1), 1, 'one TTL on, a key sits in the previous generation');
  counts.bump(9, 2 * 60_000 + 2);
  t.equal(counts.bump(8, 2 * 60_000 + 3), 0, 'two TTLs on, it is gone');
  const copy = new CountTable(8, 60_000, 0);
  const cols = counts.columns();
  t.equal(cols.keys.length, counts.size);
  copy.load(cols.keys, cols.counts, cols.current, counts.startedAtMs);
  t.same(copy.columns(), cols, 'keys and counts load back as they were');
});

t.test("a fingerprint's distinct sources over the hour, from when each source last used it", async (t) => {
  const minute = 60_000;
  const t0 = 1_000 * 300_000; // the start of a 5-minute slot
  const p = new PrintStats();
  p.handshake(-1, t0);
  p.handshake(-1, t0 + 1);
  t.equal(p.distinctSources(t0 + 2), 2, 'two new sources');
  p.handshake(t0, t0 + minute);
  t.equal(p.distinctSources(t0 + minute), 2, 'a source back within its 5 minutes is not counted again');
  p.handshake(t0 + 1, t0 + 10 * minute);
  t.equal(p.distinctSources(t0 + 10 * minute), 2, 'nor one back later in the hour: it moves to its newer bucket');
  t.equal(p.distinctSources(t0 + 65 * minute), 1, 'an hour on, the source that did not come back is gone');
  t.equal(p.distinctSources(t0 + 75 * minute), 0, 'and then the other');
  p.handshake(t0 + 10 * minute, t0 + 75 * minute);
  t.equal(p.distinctSources(t0 + 75 * minute), 1, 'a source back after the hour counts anew');
  const copy = PrintStats.restore(p.snapshot(), t0 + 76 * minute);
  t.equal(copy.distinctSources(t0 + 76 * minute), 1, 'the count is saved and restored');
});

t.test("a fingerprint's stats held by the caller: used while the table holds them, looked up again once evicted", async (t) => {
  const now = 1_000 * 300_000;
  const table = new PrintTable(2);
  const a = table.handshake('a', undefined, -1, now);
  t.equal(table.handshake('a', a, -1, now), a, 'the held stats are counted on');
  t.equal(table.peek('a')!.handshakes(now), 2);
  table.handshake('b', undefined, -1, now);
  table.handshake('c', undefined, -1, now); // evicts 'a', the least recently used
  t.ok(a.dropped);
  const again = table.handshake('a', a, -1, now);
  t.not(again, a, 'an evicted holder gets stats the table holds');
  t.equal(table.peek('a'), again);
  let held = again;
  for (let i = 0; i < 300; i++) {
    held = table.handshake('a', held, -1, now);
    if (i === 100) table.handshake('d', undefined, -1, now); // newer in the LRU than 'a', unless 'a' is looked up again
  }
  table.handshake('e', undefined, -1, now);
  t.notOk(held.dropped, 'every 256th handshake goes through the table, so a busy fingerprint stays recent');
});

t.test('forest scores memoised by vector key: a key on a taken slot replaces it, a training clears all', async (t) => {
  const memo = new ScoreMemo(1000); // 1024 slots
  const key = 2 ** 52 + 7;
  t.equal(memo.get(key), undefined);
  memo.set(key, 0.25);
  t.equal(memo.get(key), 0.25);
  t.equal(memo.get(key + 1024), undefined, 'another key on the same slot is not mistaken for it');
  memo.set(key + 1024, 0.5);
  t.equal(memo.get(key + 1024), 0.5);
  t.equal(memo.get(key), undefined, 'it replaced the first');
  memo.clear();
  t.equal(memo.get(key + 1024), undefined);
});

t.test("explanations: an address's last handshake decision, while among the latest 10,000, with or without its profile", async (t) => {
  const log = new DecisionLog();
  const profiles = new ProfileTable('a:', 100_000, 60_000);
  const row = (address: string) => profiles.touch(address, undefined, 1);
  const shape = { id: 1, base: new Float64Array(VECTOR_SIZE) } as unknown as Shape;
  const decision = (address: string, score: number, phase: Decision['phase'] = 'hello'): Decision => ({
    phase, at: Date.now(), conn: `c-${address}`, address, port: 1, ja4: 'j', ja3: 'h', score, action: 'primary', enforced: true,
    reasons: [{ signal: 'anomaly', weight: score, a: score }], reasonCount: 1,
  });
  log.keep(decision('a', 0.1), row('a'), shape, { ...newDynamic(), reads: 3 }, 500, undefined, undefined);
  log.keep(decision('a', 0.2), row('a'), shape, { ...newDynamic(), reads: 4, knownGood: true }, 510, 0.4, 0.1);
  const a = log.explain('a', row('a').note)!;
  t.match(a, { score: 0.2, features: { reads: 4, knownGood: true, helloBytes: 510 }, forest: { raw: 0.4, calibrated: 0.1 } });
  t.match(a.reasons, [{ signal: 'anomaly', detail: /isolation forest: 0.20/ }]);
  t.match(log.recent(2), [{ address: 'a', score: 0.1 }, { address: 'a', score: 0.2 }], 'every decision is in the ring, oldest first');
  for (let i = 0; i < 9_999; i++) log.keep(decision(`n${i}`, 0), row(`n${i}`), shape, newDynamic(), 500, undefined, undefined);
  t.equal(log.explain('a', row('a').note)?.score, 0.2, '9,999 newer decisions leave it in the ring');
  log.keep(decision('n', 0), row('n'), shape, newDynamic(), 500, undefined, undefined);
  t.equal(log.explain('a', row('a').note), undefined, 'the 10,000th takes its row');
  t.equal(log.explain('n0', row('n0').note)?.address, 'n0');
  t.equal(log.explain('n0', row('n1').note)?.address, 'n0', "a note that points at another address's row falls back to the ring");
  t.equal(log.explain('n5')?.address, 'n5', 'no profile (aged out): the ring is scanned');
  t.equal(log.explain('nobody'), undefined, 'an address the ring never saw');
  log.add(decision('r', 0.5, 'request'));
  t.match(log.recent(1), [{ address: 'r', phase: 'request', score: 0.5, reasons: [{ signal: 'anomaly' }] }]);
  for (let i = 0; i < 10_000; i++) log.add(decision('n0', 0.7, 'request'));
  t.equal(log.explain('n0', row('n0').note), undefined, 'a later decision in its row is not a handshake decision to explain');
});

t.test('a reason whose weight is not a number is left out', async (t) => {
  const reasons = new ReasonList();
  reasons.add('anomaly', NaN);
  reasons.add('flood', 0);
  reasons.add('scanner-ciphers', 0.5);
  t.equal(reasons.count, 1);
  t.equal(reasons.items[0]!.signal, 'scanner-ciphers');
});

t.test('tallies: exact scores reach a Prometheus histogram on flush; hello decisions since the last flush and since start', async (t) => {
  const registry = new Registry();
  const telemetry = createTelemetry(createPluginMetrics('bae', registry));
  const pending = { tallies: new Tallies(telemetry.score), decisions: new Map<string, number>(), signals: new Map<string, number>() };
  const { tallies } = pending;
  tallies.hello(0, 'primary');
  tallies.hello(0.62, 'strict');
  tallies.hello(0.95, 'reject');
  t.match(await registry.metrics(), /weaver_bae_score_count 0\n/, 'nothing reaches prom-client before a flush');
  flushCounts(telemetry, pending);
  const text = await registry.metrics();
  t.match(text, /# TYPE weaver_bae_score histogram/);
  t.match(text, /weaver_bae_score_bucket\{le="0.1"\} 1\n/, 'a score of 0 is at most 0.1');
  t.match(text, /weaver_bae_score_bucket\{le="0.6"\} 1\n/);
  t.match(text, /weaver_bae_score_bucket\{le="0.7"\} 2\n/, '0.62 is at most 0.7');
  t.match(text, /weaver_bae_score_bucket\{le="0.95"\} 3\n/, 'at most le includes le');
  t.ok(Math.abs(Number(/weaver_bae_score_sum (\S+)\n/.exec(text)?.[1]) - 1.57) < 1e-9, 'the exact sum of the scores');
  t.match(text, /weaver_bae_score_count 3\n/);
  t.match(text, /weaver_bae_decisions_total\{phase="hello",action="strict"\} 1\n/);
  t.same(tallies.take(), { primary: 0, strict: 0, reject: 0 }, 'taking starts the count again');
  const h = tallies.describe({ primary: 'primary:listener', strict: 'strict:strict', reject: 'reject:refused' });
  t.same(h.routings, { 'primary:listener': 1, 'strict:strict': 1, 'reject:refused': 1 }, 'since start');
  t.equal(h.buckets.length, 20);
  t.same(h.buckets[12], { le: 0.65, count: 1 });

  // A burst longer than the buffer between two flushes: the overflow observes at once, nothing is lost.
  for (let i = 0; i < 10_000; i++) tallies.hello(0.5, 'primary');
  const before = Number(/weaver_bae_score_count (\d+)\n/.exec(await registry.metrics())![1]);
  t.ok(before > 3 && before < 3 + 10_000, `the overflow went to the histogram at once (${before - 3} of 10000)`);
  tallies.take();
  t.match(await registry.metrics(), /weaver_bae_score_count 10003\n/, 'and the buffer on the flush');
});
