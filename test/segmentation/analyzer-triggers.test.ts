// Rule-based triggers of the traffic analyzer: a source scanning many destinations and a burst of
// failed handshakes are reported once each (with a risk, reasons and an expiry); busy but
// ordinary clients, a slow trickle and a few failures are not.
import t from 'tap';
import { Value } from '@sinclair/typebox/value';
import { TrafficAnalyzer, type AnomalyEvent } from '../../plugins/segmentation/analyzer/analyzer.ts';
import { AnalyzerOptions } from '../../plugins/segmentation/analyzer/options.ts';
import { SourceWindows } from '../../plugins/segmentation/analyzer/windows.ts';
import { T0, handshakeBurst, normalFlow, office, scan, trafficRandom } from './analyzer-traffic.ts';

// The baseline is left out here so that only the rules can fire (analyzer-baseline tests it).
const options = (over: object = {}): AnalyzerOptions => Value.Default(AnalyzerOptions, Value.Clone({ baseline: { enabled: false }, ...over })) as AnalyzerOptions;

function replay(analyzer: TrafficAnalyzer, flows: ReturnType<typeof office>): AnomalyEvent[] {
  const events: AnomalyEvent[] = [];
  const off = analyzer.onAnomaly((e) => events.push(e));
  for (const f of [...flows].sort((a, b) => a.endedAt - b.endedAt)) analyzer.record(f);
  off();
  return events;
}

t.test('a connect scan across many addresses: reported at medium risk, then once more at high', async (t) => {
  const analyzer = new TrafficAnalyzer(options());
  const background = office(80, 60);
  const scanner = scan('10.20.9.9', 100, [22, 443, 3389], T0 + 20_000, 15);
  const events = replay(analyzer, [...background, ...scanner]);
  t.same(events.map((e) => [e.source, e.detector, e.risk]), [['10.20.9.9', 'scan', 'medium'], ['10.20.9.9', 'scan', 'high']], 'nobody else');
  const [medium, high] = events as [AnomalyEvent, AnomalyEvent];
  t.match(medium, { segment: 'office', expiresInMs: 300_000, at: scanner[29 * 3]!.endedAt, reasons: ['scan: 30 distinct destinations and 3 distinct ports in 10 s'] });
  t.match(high, { segment: 'office', expiresInMs: 1_800_000, at: scanner[59 * 3]!.endedAt, score: 1 });
  t.ok(medium.score >= 0.5 && medium.score < 1);
  const w = analyzer.windowOf('10.20.9.9', scanner.at(-1)!.endedAt)!;
  t.ok(w.distinctDestinations > 60 && w.connections <= 2048, 'window as the admin API would show it');
});

t.test('a port sweep of one host trips on distinct ports; medium at the limit', async (t) => {
  const analyzer = new TrafficAnalyzer(options());
  const ports = Array.from({ length: 25 }, (_, i) => 8000 + i);
  const events = replay(analyzer, [...office(20, 30), ...scan('10.20.7.7', 1, ports, T0 + 5_000, 200)]);
  t.equal(events.length, 1);
  t.match(events[0], { source: '10.20.7.7', detector: 'scan', risk: 'medium', expiresInMs: 300_000 });
  t.equal(events[0]!.at, T0 + 5_000 + 19 * 200, 'on the 20th distinct port');
});

t.test('a burst of failed handshakes from one source', async (t) => {
  const analyzer = new TrafficAnalyzer(options());
  const events = replay(analyzer, [...office(50, 60), ...handshakeBurst('10.20.8.8', 60, T0 + 10_000, 80)]);
  t.equal(events.length, 2, 'medium at 20 failures, then again when it reaches high at 40');
  t.match(events[0], { source: '10.20.8.8', detector: 'handshake-failures', risk: 'medium' });
  t.match(events[0]!.reasons, [/^handshake failures: 20 of 20 connections in 10 s$/]);
  t.match(events[1], { source: '10.20.8.8', detector: 'handshake-failures', risk: 'high' });
});

t.test('ordinary traffic, a slow trickle and a few failures raise nothing', async (t) => {
  const analyzer = new TrafficAnalyzer(options());
  const rnd = trafficRandom(7);
  // A busy client: 300 connections in 10 s to the usual services.
  const busy = Array.from({ length: 300 }, (_, i) => normalFlow('10.20.5.5', T0 + i * 33, rnd));
  // A slow scan: one new address every 2 s never has 30 in a 10 s window.
  const slow = scan('10.20.6.6', 100, [443], T0, 2_000);
  // Failures among successes: 25 failed handshakes in 10 s, but 60 % of the connections succeed.
  const mixed = [...handshakeBurst('10.20.4.4', 25, T0, 400), ...Array.from({ length: 40 }, (_, i) => normalFlow('10.20.4.4', T0 + i * 250, rnd))];
  t.same(replay(analyzer, [...office(100, 120), ...busy, ...slow, ...mixed]), []);
});

t.test('a reported source is reported again once its report has expired', async (t) => {
  const analyzer = new TrafficAnalyzer(options({ expiry: { lowMs: 1_000, mediumMs: 2_000, highMs: 5_000 } }));
  const risks = (events: AnomalyEvent[]) => events.map((e) => [e.risk, e.expiresInMs]);
  t.same(risks(replay(analyzer, scan('10.20.9.9', 70, [443], T0, 10))), [['medium', 2_000], ['high', 5_000]]);
  t.same(replay(analyzer, scan('10.20.9.9', 70, [443], T0 + 1_000, 10)), [], 'the high report stands for 5 s');
  t.same(risks(replay(analyzer, scan('10.20.9.9', 70, [443], T0 + 20_000, 10))), [['medium', 2_000], ['high', 5_000]], 'after it expired');
});

t.test('windows are bounded: sources by LRU, flows per source', async (t) => {
  const windows = new SourceWindows({ windowMs: 60_000, maxSources: 100, maxFlowsPerSource: 16 });
  for (let i = 0; i < 250; i++) windows.record({ ...scan(`10.30.0.${i}`, 1, [443], T0)[0]! });
  t.equal(windows.size, 100);
  const flood = scan('10.31.0.1', 200, [443], T0, 1);
  let last;
  for (const f of flood) last = windows.record(f);
  t.equal(last!.connections, 16, 'the oldest flows give way');
  t.equal(last!.distinctDestinations, 16, 'and their counts go with them');
  t.equal(windows.get('10.31.0.1', T0 + 200 + 60_001)!.connections, 0, 'expired by time');
});
