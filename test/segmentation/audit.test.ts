// The audit log of a real Weaver: rule changes and denied flows (aggregated), chained by
// SHA-256, rotated by size with the chain carried across files; `weaver audit verify` passes
// the intact log and names the first bad record of an edited, a deleted and a swapped one.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { runWeaver } from '../support/run-weaver.ts';
import { startWeaver } from '../support/weaver-harness.ts';
import { admin, segConfig, sleep, tryTls } from './support.ts';

const OPTIONS = `
      segments:
        lab: { cidrs: [127.40.0.0/16] }
      audit: { maxBytes: 4096, denyIntervalMs: 1500 }
`;

t.test('rule changes and denied flows, chained and rotated; verify finds tampering', async (t) => {
  const h = await startWeaver(segConfig(OPTIONS));
  const dir = join(h.weaver.config.stateDir, 'plugins/segmentation');
  t.teardown(() => h.stop());

  t.equal((await admin(h.adminPort, 'POST', '/rules', { id: 'deny-lab', from: { segment: 'lab' }, action: 'deny', reason: 'lab is closed' })).status, 201);
  const started = Date.now();
  for (let i = 0; i < 25; i++) t.equal(await tryTls(h.port, '127.40.0.2'), 'refused');
  const records = () => readFileSync(join(dir, 'segmentation-audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const denies = () => records().filter((r) => r.type === 'flow.deny');
  const counted = () => denies().reduce((n, r) => n + (r.count as number), 0);
  for (let i = 0; i < 50 && counted() < 25; i++) await sleep(100);
  t.equal(counted(), 25, 'every refusal is counted');
  const intervals = Math.ceil((Date.now() - started) / 1500) + 1;
  t.ok(denies().length <= intervals, `25 refusals make ${denies().length} record(s), at most one per interval`);
  t.match(denies()[0], { who: 'engine', src: '127.40.0.2', by: 'rule:deny-lab' });
  t.match(records().find((r) => r.type === 'rule.add'), { who: 'admin:loopback', rule: { id: 'deny-lab', reason: 'lab is closed' } });

  // Enough changes to rotate the file a few times.
  for (let i = 0; i < 40; i++) {
    const id = `r${i}`;
    t.equal((await admin(h.adminPort, 'POST', '/rules', { id, from: { cidr: `127.41.0.${i}` }, action: 'deny' })).status, 201);
    if (i % 2) t.equal((await admin(h.adminPort, 'DELETE', `/rules?id=${id}`)).status, 200);
  }
  const rotated = readdirSync(dir).filter((f) => /^segmentation-audit\.\d{12}\.jsonl$/.test(f)).sort();
  t.ok(rotated.length >= 2, `rotated into ${rotated.length} files`);
  const current = join(dir, 'segmentation-audit.jsonl');
  t.equal(records()[0]!.type, 'rotate', 'a new file starts with a rotate record');
  const all = [...rotated.map((f) => join(dir, f)), current];

  const intact = await runWeaver(['audit', 'verify', ...all]);
  t.equal(intact.code, 0, intact.stderr);
  t.match(intact.stdout, /^ok: \d+ records, chain intact/);
  const one = await runWeaver(['audit', 'verify', current]);
  t.equal(one.code, 0, 'the current file alone verifies, anchored on its rotate record');

  const lines = readFileSync(current, 'utf8').trim().split('\n');
  t.ok(lines.length >= 6);
  const tampered = async (name: string, edit: (l: string[]) => string[]) => {
    const file = join(h.dir, `${name}.jsonl`);
    writeFileSync(file, `${edit([...lines]).join('\n')}\n`);
    return runWeaver(['audit', 'verify', file]);
  };
  const edited = await tampered('edited', (l) => {
    l[3] = l[3]!.replace(/"id":"r\d+"/, '"id":"innocent"');
    return l;
  });
  t.equal(edited.code, 1);
  t.match(edited.stderr, /edited\.jsonl:4: record \d+: hash does not match the record \(edited\)/);
  const deleted = await tampered('deleted', (l) => (l.splice(2, 1), l));
  t.equal(deleted.code, 1);
  t.match(deleted.stderr, /deleted\.jsonl:3: record \d+: prev does not match/);
  const swapped = await tampered('swapped', (l) => {
    [l[2], l[3]] = [l[3]!, l[2]!];
    return l;
  });
  t.equal(swapped.code, 1);
  t.match(swapped.stderr, /swapped\.jsonl:3: record \d+: prev does not match/);
  const headless = await tampered('headless', (l) => l.slice(1));
  t.equal(headless.code, 1, 'removing the first record is found too');
  t.match(headless.stderr, /headless\.jsonl:1: .*records before it are missing/);
  const usage = await runWeaver(['audit', 'check']);
  t.equal(usage.code, 2);
});

t.test('the chain goes on across a restart', async (t) => {
  const h = await startWeaver(segConfig(OPTIONS));
  t.teardown(() => h.stop());
  const stateDir = h.weaver.config.stateDir;
  await admin(h.adminPort, 'POST', '/rules', { id: 'before', from: { cidr: '127.42.0.1' }, action: 'deny' });
  await admin(h.adminPort, 'POST', '/entries', { segment: 'lab', kind: 'cidr', value: '127.43.0.0/24' });
  await h.weaver.stop(1_000);
  const h2 = await startWeaver(segConfig(OPTIONS, { stateDir }));
  t.teardown(() => h2.stop());
  const rules = await admin<{ rules: Array<{ id: string; origin: string }> }>(h2.adminPort, 'GET', '/rules');
  t.match(rules.body.rules, [{ id: 'before', origin: 'admin:loopback' }], 'the API rule survived the restart');
  t.equal(await tryTls(h2.port, '127.42.0.1'), 'refused', 'and applies');
  const lab = await admin<{ entries: Array<{ value: string; origin: string }> }>(h2.adminPort, 'GET', '/segments?name=lab');
  t.match(lab.body.entries.at(-1), { value: '127.43.0.0/24', origin: 'admin:loopback' }, 'so did the list entry');
  // A reload runs a second instance beside the first: both write to the one chain.
  const reload = await request(`http://127.0.0.1:${h2.adminPort}/api/reload`, { method: 'POST' });
  t.equal(reload.statusCode, 200, await reload.body.text());
  await admin(h2.adminPort, 'DELETE', '/rules?id=before');
  const res = await runWeaver(['audit', 'verify', join(stateDir, 'plugins/segmentation/segmentation-audit.jsonl')]);
  t.equal(res.code, 0, res.stderr);
});
