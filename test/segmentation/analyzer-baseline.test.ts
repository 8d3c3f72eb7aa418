// The per-segment baseline: an isolation forest learned from a segment's recent flows and
// retrained in the background. A flow that is ordinary in one segment (a database dump) is
// flagged in another (office browsing); ordinary flows mostly stay quiet; one source cannot fill
// the training window; forests are reproducible from their seed.
import t from 'tap';
import { Value } from '@sinclair/typebox/value';
import { setTimeout as sleep } from 'node:timers/promises';
import { TrafficAnalyzer, type AnomalyEvent } from '../../plugins/segmentation/analyzer/analyzer.ts';
import { SegmentBaseline } from '../../plugins/segmentation/analyzer/baseline.ts';
import type { FlowRecord } from '../../plugins/segmentation/analyzer/flow.ts';
import { IsolationForest } from '../../plugins/segmentation/analyzer/forest.ts';
import { AnalyzerOptions } from '../../plugins/segmentation/analyzer/options.ts';
import { seededRandom } from 'weaver';
import { T0, office } from './analyzer-traffic.ts';

const options = (over: object = {}): AnalyzerOptions => Value.Default(AnalyzerOptions, Value.Clone(over)) as AnalyzerOptions;

/** Nightly dumps in the db segment: long, large, one request-less flow each, to port 5432. */
function dbFlows(n: number, from: number, seed = 3): FlowRecord[] {
  const rnd = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => ({
    source: `10.40.0.${i % 20}`, segment: 'db', destination: 'pg.corp.example', port: 5432, endedAt: from + i * 1_500,
    durationMs: Math.round(600_000 + rnd() * 1_200_000), bytesIn: Math.round(2e5 + rnd() * 1e6), bytesOut: Math.round(2e9 + rnd() * 4e9),
    requests: 0, errors: 0, handshake: 'ok',
  }));
}

t.test('each segment learns its own normal', async (t) => {
  const analyzer = new TrafficAnalyzer(options({ baseline: { minSamples: 300 } }));
  const events: AnomalyEvent[] = [];
  analyzer.onAnomaly((e) => events.push(e));
  for (const f of [...office(60, 300, 1), ...dbFlows(400, T0)].sort((a, b) => a.endedAt - b.endedAt)) analyzer.record(f);
  t.same(events, [], 'no baseline yet, no rule fires');
  await analyzer.retrainNow();
  const status = Object.fromEntries(analyzer.baselineStatus().map((s) => [s.segment, s]));
  t.match(status.office, { ready: true, trainedOn: status.office!.samples });
  t.match(status.db, { ready: true, trainedOn: 400 });

  // Fresh ordinary traffic, later the same day: hardly anything is reported.
  const later = T0 + 3_600_000;
  const fresh = [...office(60, 120, 2, later), ...dbFlows(100, later, 4)];
  for (const f of fresh) analyzer.record(f);
  t.ok(events.length <= Math.ceil(fresh.length * 0.02), `${events.length} of ${fresh.length} ordinary flows reported`);

  // A dump-sized transfer from an office client is anomalous for office, not for db.
  const dump = dbFlows(1, later + 200_000, 9)[0]!;
  const fromOffice = analyzer.record({ ...dump, source: '10.20.0.7', segment: 'office', destination: 'files.corp.example', port: 443, sni: 'files.corp.example' });
  t.match(fromOffice, { source: '10.20.0.7', segment: 'office', detector: 'baseline', risk: 'high' });
  t.match(fromOffice?.reasons, [/^baseline: log_bytes_out is \d+\.\d ranges beyond what segment office does$/]);
  t.equal(analyzer.record({ ...dump, source: '10.40.0.3', endedAt: dump.endedAt + 1 }), undefined, 'the same flow in db is normal');
});

t.test('the baseline retrains in the background on its own schedule', async (t) => {
  const analyzer = new TrafficAnalyzer(options({ baseline: { minSamples: 200, retrainIntervalMs: 50, trees: 50 } }));
  for (const f of office(40, 200, 5)) analyzer.record(f);
  analyzer.start();
  t.teardown(() => analyzer.stop());
  for (let i = 0; i < 100 && !analyzer.baselineStatus()[0]?.ready; i++) await sleep(20);
  t.equal(analyzer.baselineStatus()[0]?.ready, true);
});

t.test('one source cannot fill the training window; the window rolls', async (t) => {
  const b = new SegmentBaseline({ minSamples: 10, window: 100, perSourceCap: 10, trees: 10, sampleSize: 64, quantile: 0.99, seed: 1 });
  for (let i = 0; i < 500; i++) b.add('10.0.0.1', Float64Array.of(i));
  t.equal(b.samples, 10);
  for (let i = 0; i < 500; i++) b.add(`10.0.1.${i}`, Float64Array.of(i));
  t.equal(b.samples, 100, 'bounded by window');
  t.equal(b.assess(Float64Array.of(0)), undefined, 'no score before training');
  await b.retrain();
  t.ok(b.ready);
  t.ok(b.threshold > 0 && b.threshold < 1);
});

t.test('isolation forest: outliers score higher; same seed, same forest', async (t) => {
  const rnd = seededRandom(11);
  const rows = Array.from({ length: 2_000 }, () => [rnd(), rnd(), rnd() < 0.5 ? 1 : 0]);
  const a = IsolationForest.train(rows, { trees: 100, sampleSize: 256, seed: 5 });
  const b = IsolationForest.train(rows, { trees: 100, sampleSize: 256, seed: 5 });
  const c = IsolationForest.train(rows, { trees: 100, sampleSize: 256, seed: 6 });
  const inlier = [0.5, 0.5, 1];
  const outlier = [3, -2, 1];
  t.equal(a.score(inlier), b.score(inlier));
  t.not(a.score(inlier), c.score(inlier));
  t.ok(a.score(outlier) > 0.6, `outlier ${a.score(outlier)}`);
  t.ok(a.score(inlier) < 0.5, `inlier ${a.score(inlier)}`);
  t.throws(() => IsolationForest.train([[1]], { trees: 1, sampleSize: 256, seed: 1 }), RangeError);
});
