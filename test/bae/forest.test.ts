// The isolation forest wrapper and the model around it: reproducible from a seed, isolates
// outliers, trains one tree per event-loop turn without leaking its seeded Math.random, and
// the model leaves flagged rows out and caps what one source contributes.
import t from 'tap';
import { IsolationForest } from 'ml-isolation-forest';
import { seededRandom } from 'weaver';
import { averagePathLength, FlatTree, Forest, trainInBackground } from '../../plugins/bae/forest.ts';
import { AnomalyModel } from '../../plugins/bae/model.ts';

function cluster(n: number, seed: number): number[][] {
  const r = seededRandom(seed);
  // Two correlated features around (5, 5) and a flag, like ordinary handshakes.
  return Array.from({ length: n }, () => {
    const x = 5 + (r() - 0.5) * 2;
    return [x, x + (r() - 0.5) * 0.5, 1];
  });
}

t.test('same seed, same forest; another seed, another forest', async (t) => {
  const rows = cluster(2_000, 7);
  const f1 = await trainInBackground(rows, { trees: 50, sampleSize: 256, seed: 42 });
  const f2 = await trainInBackground(rows, { trees: 50, sampleSize: 256, seed: 42 });
  const f3 = await trainInBackground(rows, { trees: 50, sampleSize: 256, seed: 43 });
  const probe = [5.2, 5.1, 1];
  t.equal(f1.score(probe), f2.score(probe));
  t.not(f1.score(probe), f3.score(probe));
});

t.test('outliers score higher than ordinary rows', async (t) => {
  const forest = await trainInBackground(cluster(3_000, 1), { trees: 100, sampleSize: 256, seed: 1 });
  const inliers = cluster(1_000, 99).map((r) => forest.score(r)).sort((a, b) => a - b);
  const mean = inliers.reduce((a, b) => a + b, 0) / inliers.length;
  const p99 = inliers[990]!;
  t.ok(mean < 0.5, `ordinary rows: mean ${mean.toFixed(3)}`);
  // Far off, off the correlation of the two features, below both ranges.
  for (const odd of [[9, 9, 1], [4, 5.9, 1], [0, 0, 1]]) {
    const s = forest.score(odd);
    t.ok(s > p99, `${JSON.stringify(odd)} scores ${s.toFixed(3)}, above the 99th percentile of ordinary rows (${p99.toFixed(3)})`);
  }
});

t.test('trees are grown one per event-loop turn and Math.random is left alone', async (t) => {
  const original = Math.random;
  let turns = 0;
  const ticker = setInterval(() => turns++, 0);
  const training = trainInBackground(cluster(5_000, 3), { trees: 40, sampleSize: 256, seed: 5 });
  let sawSeeded = false;
  const probe = setImmediate(function again() {
    if (Math.random !== original) sawSeeded = true;
    if (!done) setImmediate(again);
  });
  let done = false;
  const forest = await training;
  done = true;
  clearInterval(ticker);
  clearImmediate(probe);
  t.equal(forest.size, 40);
  t.ok(turns > 0, `timers ran ${turns} times during training`);
  t.notOk(sawSeeded, 'no other callback ever saw the seeded Math.random');
  t.equal(Math.random, original);
});

t.test("a compiled tree walks exactly as the package's own tree does", async (t) => {
  // Guards the one place that reads the package's undocumented node fields.
  const rows = cluster(512, 21);
  const grown = new IsolationForest({ nEstimators: 5 });
  grown.train(rows.slice(0, 256));
  const probes = [...cluster(300, 22), [9, 9, 1], [0, 0, 1], [5, 5, 0]];
  for (const tree of grown.forest) {
    const flat = new FlatTree(tree);
    t.ok(probes.every((p) => flat.pathLength(p) === tree.pathLengthFromRoot(p, 0)), 'same path length for every probe');
  }
});

t.test('the packed forest scores exactly as its trees, one by one', async (t) => {
  const forest = await trainInBackground(cluster(1_000, 31), { trees: 40, sampleSize: 128, seed: 9 });
  for (const probe of [...cluster(200, 32), [9, 9, 1], [0, 0, 1], [5, 5, 0]]) {
    const mean = forest.trees.reduce((a, tree) => a + tree.pathLength(probe), 0) / forest.trees.length;
    t.equal(forest.score(Float64Array.from(probe)), 2 ** (-mean / averagePathLength(128)));
  }
});

t.test('a forest with no tree scores 0 (warm-up)', async (t) => {
  t.equal(new Forest().score([1, 2, 3]), 0);
});

t.test('the model: warm-up, calibration, exclusions and the per-source cap', async (t) => {
  const model = new AnomalyModel({ minSamples: 500, window: 10_000, perSourceCap: 10, trees: 60, sampleSize: 128, seed: 3 });
  const rows = cluster(1_200, 11);
  rows.forEach((v, i) => model.record({ v, source: `s${i % 100}`, print: 'p', score: 0 }));
  t.equal(model.raw([5, 5, 1]), undefined, 'no score before a training');
  // 100 rows from one flooding source, flagged: neither it nor its flags may be learnt.
  for (let i = 0; i < 100; i++) model.record({ v: [9, 1, 1], source: 'flood', print: 'p', score: 0.95 });
  await model.retrain((row) => row.score >= 0.6);
  const status = model.status();
  t.equal(status.state, 'ready');
  t.equal(status.trainingRows, 1_000, '100 sources × the cap of 10; the flagged flood left out');
  const inlier = model.calibrated(model.raw([5.1, 5.2, 1])!);
  const outlier = model.calibrated(model.raw([9, 1, 1])!);
  t.ok(inlier < 0.3, `ordinary: ${inlier.toFixed(3)}`);
  t.ok(outlier >= 0.5, `the flood's shape: ${outlier.toFixed(3)}, beyond the 99.5th percentile of what was learnt`);
  t.equal(model.snapshot(50).length, 50);
});

t.test('drift: the model asks for a retraining when the traffic moves away from what it learnt', async (t) => {
  const model = new AnomalyModel({ minSamples: 200, window: 5_000, perSourceCap: 1_000, trees: 50, sampleSize: 128, seed: 4, driftThreshold: 1, driftMinScored: 128 });
  let asked = 0;
  model.onDrift = () => asked++;
  cluster(1_000, 41).forEach((v) => model.add(v, 's', 'p', 0));
  await model.retrain(() => false, 'warm-up');
  for (const v of cluster(512, 42)) model.raw(v);
  t.equal(asked, 0, `same traffic: drift ${model.status().drift}`);
  t.ok(Math.abs(model.status().drift) < 1);
  const shifted = cluster(256, 43).map(([x, y, f]) => [x! + 3, y! - 2, f!]);
  for (const v of shifted) model.raw(v);
  t.ok(asked >= 1, `shifted traffic: drift ${model.status().drift}, asked ${asked} time(s)`);
  t.equal(model.status().reason, 'warm-up');
});
