// Cluster workers open the one state file at the same moment and flush to it side by side:
// none may fail with SQLITE_BUSY, and no worker's keys may go missing. The race is a matter of
// timing, so the test runs many rounds on fresh files.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

const repo = new URL('../../', import.meta.url).pathname;
const ROUNDS = 12;
const PROCESSES = 6;
const KEYS = 300;

interface Child {
  ready: Promise<void>;
  go(): void;
  done: Promise<{ code: number | null; stderr: string }>;
}

/** A process that loads the store module, says ready, and opens the file when told to go. */
function startChild(file: string, id: number): Child {
  const script = `
    const { SqliteStateStore } = await import(${JSON.stringify(`${repo}proxy/store/sqlite-store.ts`)});
    process.stdout.write('ready\\n');
    await new Promise((go) => process.stdin.once('data', go));
    const store = SqliteStateStore.open({ file: ${JSON.stringify(file)}, snapshotIntervalMs: 60000, batchSize: 50 });
    const ns = store.namespace('w');
    for (let i = 0; i < ${KEYS}; i++) await ns.set('${id}-' + i, i);
    await store.close();
    process.exit(0);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.on('error', () => undefined); // "go" to a child that already died
  return {
    ready: new Promise((resolve) => child.stdout.once('data', () => resolve())),
    go: () => child.stdin.write('go\n'),
    done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr }))),
  };
}

t.test(`${PROCESSES} processes open a fresh store file at once and all write to it, ${ROUNDS} rounds`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'weaver-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const failures: string[] = [];
  let missing = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const file = join(dir, `weaver-${round}.db`);
    const children = Array.from({ length: PROCESSES }, (_, id) => startChild(file, id));
    // A child that dies before it is ready must not leave the others waiting for ever.
    await Promise.race([Promise.all(children.map((c) => c.ready)), Promise.race(children.map((c) => c.done))]);
    for (const c of children) c.go();
    const runs = await Promise.all(children.map((c) => c.done));
    for (const r of runs) if (r.code !== 0) failures.push(r.stderr.split('\n').find((l) => /Error/.test(l)) ?? r.stderr);
    const db = new DatabaseSync(file, { readOnly: true });
    const { n } = db.prepare('SELECT count(*) AS n FROM kv').get() as { n: number };
    db.close();
    missing += PROCESSES * KEYS - n;
  }
  t.same(failures, [], 'every process opened the file and flushed');
  t.equal(missing, 0, 'every key of every process is in the file');
});
