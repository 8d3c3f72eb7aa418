// The default state store: JSON values per namespace, expiry, snapshots to SQLite, and what a
// new process finds in the file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import t from 'tap';
import { SqliteStateStore } from '../../proxy/store/sqlite-store.ts';

function tempFile(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'weaver-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'state', 'weaver.db');
}

async function collect<T>(it: AsyncIterable<[string, T]>): Promise<Record<string, T>> {
  const out: Record<string, T> = {};
  for await (const [k, v] of it) out[k] = v;
  return out;
}

t.test('get, set, delete and entries per namespace, values copied as JSON', async (t) => {
  const store = SqliteStateStore.open({ file: tempFile(t), snapshotIntervalMs: 60_000 });
  t.teardown(() => store.close());
  const a = store.namespace('a');
  const b = store.namespace('b');
  const value = { n: 1, list: [1, 2], nested: { s: 'x' } };
  await a.set('k', value);
  value.n = 2;
  t.same(await a.get('k'), { n: 1, list: [1, 2], nested: { s: 'x' } }, 'a later change to the object is not stored');
  t.equal(await b.get('k'), undefined, 'namespaces do not see each other');
  await a.set('p:1', 1);
  await a.set('p:2', 2);
  t.same(await collect(a.entries('p:')), { 'p:1': 1, 'p:2': 2 });
  t.equal(await a.delete('p:1'), true);
  t.equal(await a.delete('p:1'), false);
  t.same(await collect(a.entries('p:')), { 'p:2': 2 });
  await t.rejects(a.set('bad', () => 1), TypeError, 'a function is not JSON');
  await t.rejects(a.set('big', 10n), TypeError, 'a bigint is not JSON');
});

t.test('values survive closing and reopening the file; deletes too', async (t) => {
  const file = tempFile(t);
  const first = SqliteStateStore.open({ file, snapshotIntervalMs: 60_000 });
  const ns = first.namespace('bae');
  for (let i = 0; i < 5_000; i++) await ns.set(`profile:${i}`, { i, seen: [i, i + 1] });
  await ns.set('gone', true);
  await first.flush();
  await ns.delete('gone');
  await first.close();

  const second = SqliteStateStore.open({ file, snapshotIntervalMs: 60_000 });
  t.teardown(() => second.close());
  const again = second.namespace('bae');
  t.same(await again.get('profile:4999'), { i: 4999, seen: [4999, 5000] });
  t.equal(await again.get('gone'), undefined, 'a delete after a snapshot reaches the file at close');
  t.equal(Object.keys(await collect(again.entries('profile:'))).length, 5_000);
});

t.test('expired entries are not read and do not come back', async (t) => {
  const file = tempFile(t);
  const first = SqliteStateStore.open({ file, snapshotIntervalMs: 60_000 });
  const ns = first.namespace('x');
  await ns.set('short', 1, { ttlMs: 30 });
  await ns.set('long', 2, { ttlMs: 60_000 });
  await first.flush();
  await new Promise((r) => setTimeout(r, 60));
  t.equal(await ns.get('short'), undefined);
  t.same(await collect(ns.entries()), { long: 2 });
  await first.close();
  const second = SqliteStateStore.open({ file, snapshotIntervalMs: 60_000 });
  t.teardown(() => second.close());
  t.same(await collect(second.namespace('x').entries()), { long: 2 });
});

t.test('periodic snapshots reach the file while the store stays open', async (t) => {
  const file = tempFile(t);
  const store = SqliteStateStore.open({ file, snapshotIntervalMs: 100 });
  t.teardown(() => store.close());
  await store.namespace('p').set('k', { v: 42 });
  // Another reader of the file (as a second process would be) sees it after a snapshot.
  let row: unknown;
  for (let i = 0; i < 50 && row === undefined; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const db = new DatabaseSync(file, { readOnly: true });
    row = db.prepare('SELECT value FROM kv WHERE ns = ? AND key = ?').get('p', 'k');
    db.close();
  }
  t.same(row, { value: '{"v":42}' });
});
