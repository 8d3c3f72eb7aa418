// The supervised detector: boosted stumps separate labelled sets (NSL-KDD rows, and flows of a
// credential-stuffing bot among office traffic), the analyzer reports such a flow once trained,
// and the metrics the CLI prints are right on cases worked by hand.
import t from 'tap';
import { Value } from '@sinclair/typebox/value';
import { readFileSync } from 'node:fs';
import { TrafficAnalyzer } from '../../plugins/segmentation/analyzer/analyzer.ts';
import type { FlowRecord } from '../../plugins/segmentation/analyzer/flow.ts';
import { auroc, quantile, rateAbove } from '../../plugins/segmentation/analyzer/metrics.ts';
import { NslKddEncoder, attackCategory, parseNslKdd } from '../../plugins/segmentation/analyzer/nslkdd.ts';
import { AnalyzerOptions } from '../../plugins/segmentation/analyzer/options.ts';
import { seededRandom } from 'weaver';
import { BoostedStumps } from '../../plugins/segmentation/analyzer/supervised.ts';
import { sharedDataPath } from '../support/shared-data.ts';
import { T0, office } from './analyzer-traffic.ts';

t.test('metrics on hand-worked cases', async (t) => {
  t.equal(auroc([0.1, 0.2, 0.8, 0.9], [false, false, true, true]), 1);
  t.equal(auroc([0.1, 0.2, 0.8, 0.9], [true, true, false, false]), 0);
  t.equal(auroc([0.5, 0.5, 0.5, 0.5], [true, false, true, false]), 0.5, 'ties count half');
  t.equal(auroc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]), 0.75);
  t.ok(Number.isNaN(auroc([1, 2], [true, true])), 'undefined without both classes');
  t.equal(quantile([5, 1, 4, 2, 3], 0.8), 4);
  t.equal(quantile([5, 1, 4, 2, 3], 1), 5);
  t.equal(rateAbove([1, 2, 3, 4], 2), 0.5, 'strictly above');
});

t.test('boosted stumps separate NSL-KDD attacks from normal rows', async (t) => {
  // 6 000 rows of the 20 % file to fit, the next 3 000 to test.
  const rows = parseNslKdd(readFileSync(sharedDataPath('nslkdd/KDDTrain+_20Percent.txt'), 'utf8')).rows;
  const [fit, test] = [rows.slice(0, 6_000), rows.slice(6_000, 9_000)];
  const encoder = new NslKddEncoder().fit(fit);
  const model = BoostedStumps.train(fit.map((r) => encoder.encode(r)), fit.map((r) => r.label !== 'normal'), { rounds: 60 });
  const scores = test.map((r) => model.predict(encoder.encode(r)));
  const malicious = test.map((r) => r.label !== 'normal');
  const a = auroc(scores, malicious);
  t.ok(a > 0.99, `AUROC ${a}`);
  const accuracy = scores.filter((p, i) => p >= 0.5 === malicious[i]).length / scores.length;
  t.ok(accuracy > 0.97, `accuracy ${accuracy}`);
  t.ok(model.stumps.length > 0 && model.stumps.length <= 60);
  t.equal(attackCategory('neptune'), 'DoS');
  t.equal(attackCategory('portsweep'), 'Probe');
  t.equal(attackCategory('guess_passwd'), 'R2L');
  t.equal(attackCategory('rootkit'), 'U2R');
  t.equal(attackCategory('zzz'), 'unknown');
});

t.test('stumps: a threshold on one feature, and degenerate inputs', async (t) => {
  const rnd = seededRandom(2);
  const x = Array.from({ length: 1_000 }, () => [rnd(), rnd() * 10]);
  const y = x.map((r) => r[1]! > 7);
  const m = BoostedStumps.train(x, y, { rounds: 20 });
  t.ok(m.stumps.every((s) => s.feature === 1), 'only the informative feature is used');
  t.ok(Math.abs(m.stumps[0]!.cut - 7) < 0.5, `first cut ${m.stumps[0]!.cut}`);
  t.ok(m.predict([0.5, 9]) > 0.95 && m.predict([0.5, 2]) < 0.05);
  const constant = BoostedStumps.train(x, x.map(() => false));
  t.same(constant.stumps, [], 'one class: the prior only');
  t.ok(constant.predict([0, 0]) < 0.01);
  t.throws(() => BoostedStumps.train(x, [true]), RangeError);
});

/** A credential-stuffing bot: short connections, one login POST each, answered 401/403. */
function stuffing(source: string, n: number, from: number): FlowRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    source, segment: 'office', destination: 'sso.corp.example', port: 443, sni: 'sso.corp.example', endedAt: from + i * 700,
    durationMs: 180 + (i % 7) * 10, bytesIn: 1_900 + (i % 5) * 20, bytesOut: 4_200, requests: 1, statuses: { s4xx: 1 }, errors: 0, handshake: 'ok' as const,
  }));
}

t.test('the analyzer reports flows like those it was taught are malicious', async (t) => {
  const options = Value.Default(AnalyzerOptions, { baseline: { enabled: false } }) as AnalyzerOptions;
  const analyzer = new TrafficAnalyzer(options);
  const labelled = [
    ...office(60, 300, 1).map((flow) => ({ flow, malicious: false })),
    ...['10.20.66.1', '10.20.66.2', '10.20.66.3'].flatMap((s, k) => stuffing(s, 80, T0 + k * 60_000)).map((flow) => ({ flow, malicious: true })),
  ];
  analyzer.trainSupervised(labelled);
  const later = T0 + 86_400_000;
  const reported = [];
  for (const f of office(60, 60, 9, later)) if (analyzer.record(f)) reported.push(f.source);
  t.same(reported, [], 'ordinary office traffic of another day');
  const events = stuffing('10.20.77.7', 10, later + 1_000).map((f) => analyzer.record(f)).filter(Boolean);
  t.equal(events.length, 1, 'a new bot is reported, once');
  t.match(events[0], { source: '10.20.77.7', detector: 'supervised', risk: 'high', reasons: [/^supervised: malicious with probability (0\.9\d+|1\.000) ≥ 0\.9$/] });
});
