// bin/weaver refuses a Node older than 24 with a clear message, before any TypeScript loads.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../support/run-weaver.ts';

const systemNode = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => {
  const r = spawnSync(p, ['-p', 'process.versions.node'], { encoding: 'utf8' });
  return r.status === 0 && Number(r.stdout.split('.')[0]) < 24;
});

t.test('an old Node gets a clear refusal', { skip: systemNode ? false : 'no Node older than 24 on this machine' }, async (t) => {
  const r = spawnSync(systemNode!, [`${repoRoot}bin/weaver`, '--version'], { encoding: 'utf8' });
  t.equal(r.status, 1);
  t.match(r.stderr, /Node\.js \d+\.\d+\.\d+ is too old; Weaver needs Node\.js 24 or newer/);
  t.equal(r.stdout, '');
});

t.test('Node 24 runs it', async (t) => {
  const r = spawnSync(process.execPath, [`${repoRoot}bin/weaver`, '--version'], { encoding: 'utf8' });
  t.equal(r.status, 0);
  t.match(r.stdout, /^weaver \d+\.\d+\.\d+ \(node 2[4-9]|[3-9]\d\./);
});
