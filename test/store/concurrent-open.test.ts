// Cluster workers open the one state file at the same moment: none may fail with SQLITE_BUSY.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = new URL('../../', import.meta.url).pathname;

t.test('eight processes open a fresh store file at once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'weaver-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'weaver.db');
  const script = `
    const { SqliteStateStore } = await import(${JSON.stringify(`${repo}proxy/store/sqlite-store.ts`)});
    const store = SqliteStateStore.open({ file: ${JSON.stringify(file)}, snapshotIntervalMs: 60000 });
    await store.close();
  `;
  const runs = Array.from({ length: 8 }, () =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('close', (code) => resolve({ code, stderr }));
    }),
  );
  for (const r of await Promise.all(runs)) t.equal(r.code, 0, r.stderr.split('\n')[0] || 'opened');
});
