// `weaver ata evaluate`, spawned through bin/weaver on small slices of NSL-KDD and on labelled
// flow records: the JSON has every field, the numbers are sane, overlapping rows are dropped,
// bad lines are reported and skipped, bad usage exits 2.
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runWeaver } from '../support/run-weaver.ts';
import { sharedDataPath } from '../support/shared-data.ts';
import { T0, handshakeBurst, office, scan } from './analyzer-traffic.ts';

const dir = mkdtempSync(join(tmpdir(), 'seg-ata-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const lines = readFileSync(sharedDataPath('nslkdd/KDDTrain+_20Percent.txt'), 'utf8').split('\n');
const slice = join(dir, 'slice.txt');
writeFileSync(slice, lines.slice(0, 5_000).join('\n'));
const other = join(dir, 'other.txt');
writeFileSync(other, [...lines.slice(4_000, 6_000), 'tcp,http,SF', '0,tcp,http,SF,abc' + ',0'.repeat(36) + ',normal,21'].join('\n'));

interface AtFpr { threshold: number; detectionRate: number; falsePositiveRate: number }
interface Out {
  mode: string; auroc: number; at1pctFpr: AtFpr; at5pctFpr: AtFpr; overlapRemoved: number; skippedLines: { train: number; test: number };
  rows: { test: number; testNormal: number; testAttacks: number; fitNormal: number; calibrationNormal: number };
  recallByCategory: Record<string, { rows: number; at1pctFpr: number; at5pctFpr: number }>;
}

async function evaluate(t: Test, args: string[]): Promise<Out> {
  const run = await runWeaver(['ata', 'evaluate', ...args]);
  t.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as Out;
}

function sane(t: Test, out: Out): void {
  for (const k of ['at1pctFpr', 'at5pctFpr'] as const) {
    t.ok(out[k].detectionRate >= 0 && out[k].detectionRate <= 1);
    t.ok(out[k].falsePositiveRate >= 0 && out[k].falsePositiveRate < 0.15, `${k} false positives on test ${out[k].falsePositiveRate}`);
  }
  t.ok(out.at5pctFpr.detectionRate >= out.at1pctFpr.detectionRate, 'a looser threshold detects at least as much');
  t.equal(out.rows.test, out.rows.testNormal + out.rows.testAttacks);
}

t.test('nsl-kdd, unsupervised, holdout', async (t) => {
  const out = await evaluate(t, ['--train', slice, '--holdout', '0.3', '--seed', '7', '--format', 'nsl-kdd']);
  t.match(out, { mode: 'unsupervised', format: 'nsl-kdd', test: { fraction: 0.3, seed: 7 }, model: { kind: 'isolation-forest' } });
  t.equal(out.rows.test, 1_500);
  t.ok(out.auroc > 0.9, `AUROC ${out.auroc}`);
  sane(t, out);
  t.same(Object.keys(out.recallByCategory).sort(), ['DoS', 'Probe', 'R2L', 'U2R'].filter((c) => c in out.recallByCategory));
  t.ok(out.recallByCategory.DoS!.rows > 100);
  const again = await evaluate(t, ['--train', slice, '--holdout', '0.3', '--seed', '7', '--format', 'nsl-kdd']);
  t.equal(again.auroc, out.auroc, 'same seed, same result');
});

t.test('nsl-kdd, supervised, a test file that overlaps the training file', async (t) => {
  const run = await runWeaver(['ata', 'evaluate', '--train', slice, '--test', other, '--format', 'nsl-kdd', '--supervised']);
  t.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout) as Out;
  t.match(out, { mode: 'supervised', model: { kind: 'boosted-stumps' }, overlapRemoved: 1_000, skippedLines: { train: 0, test: 2 } });
  t.equal(out.rows.test, 1_000, 'only the rows the training file lacks');
  t.ok(out.auroc > 0.98, `AUROC ${out.auroc}`);
  sane(t, out);
  t.match(run.stderr, /other\.txt:2001: 3 fields, expected 42 or 43 \(skipped\)/);
  t.match(run.stderr, /other\.txt:2002: src_bytes is not a number: "abc" \(skipped\)/);
});

t.test('jsonl flow records', async (t) => {
  const flows = [
    ...office(40, 240, 1).map((f) => ({ ...f, label: 'normal' })),
    ...scan('10.20.9.9', 80, [22, 443], T0 + 30_000, 20).map((f) => ({ ...f, label: 'scan', category: 'Probe' })),
    ...handshakeBurst('10.20.8.8', 150, T0 + 90_000, 50).map((f) => ({ ...f, label: 'tls-flood', category: 'DoS' })),
  ];
  const file = join(dir, 'flows.jsonl');
  writeFileSync(file, ['# labelled flows', ...flows.map((f) => JSON.stringify(f)), '{"label":"normal"}'].join('\n'));
  const run = await runWeaver(['ata', 'evaluate', '--train', file, '--holdout', '0.25', '--format', 'jsonl']);
  t.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout) as Out;
  t.match(out, { format: 'jsonl', features: 'flow', skippedLines: { train: 1, test: 0 } });
  t.match(run.stderr, new RegExp(`flows\\.jsonl:${flows.length + 2}: no "source" or "destination" string`));
  t.ok(out.auroc > 0.95, `AUROC ${out.auroc}`);
  t.same(Object.keys(out.recallByCategory).sort(), ['DoS', 'Probe']);
  t.ok(out.recallByCategory.Probe!.at5pctFpr > 0.9 && out.recallByCategory.DoS!.at5pctFpr > 0.9, JSON.stringify(out.recallByCategory));
});

t.test('bad usage and unusable input', async (t) => {
  const usage = async (args: string[], message: RegExp) => {
    const run = await runWeaver(['ata', ...args]);
    t.equal(run.code, 2, args.join(' '));
    t.match(run.stderr, message);
  };
  await usage(['evaluate', '--train', slice, '--format', 'nsl-kdd'], /exactly one of --test and --holdout/);
  await usage(['evaluate', '--train', slice, '--holdout', '1.5', '--format', 'nsl-kdd'], /--holdout must be a fraction/);
  await usage(['evaluate', '--train', slice, '--holdout', '0.2', '--format', 'csv'], /--format must be nsl-kdd or jsonl/);
  await usage(['evaluate', '--holdout', '0.2', '--format', 'nsl-kdd'], /--train is required/);
  await usage(['evaluate', '--train', slice, '--holdout', '0.2', '--format', 'nsl-kdd', '--bogus'], /unknown argument "--bogus"/);
  await usage(['train'], /unknown sub-command "train"/);
  const same = await runWeaver(['ata', 'evaluate', '--train', slice, '--test', slice, '--format', 'nsl-kdd']);
  t.equal(same.code, 1);
  t.match(same.stderr, /WEAVER_ERR_ATA_INPUT: no test rows left \(all 5000 are also in --train\)/);
  const missing = await runWeaver(['ata', 'evaluate', '--train', join(dir, 'nope.txt'), '--holdout', '0.2', '--format', 'nsl-kdd']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /WEAVER_ERR_ATA_INPUT: .*nope\.txt: ENOENT/);
  const help = await runWeaver(['--help']);
  t.match(help.stdout, /weaver ata evaluate --train FILE/);
});
