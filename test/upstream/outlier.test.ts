// Outlier ejection math and the retry budget, on their own, with a clock the test moves.
import t from 'tap';
import { OutlierDetector } from '../../proxy/upstream/outlier.ts';
import { RetryBudget } from '../../proxy/upstream/retry-budget.ts';
import type { UpstreamServer } from '../../proxy/upstream/server.ts';

/** Just what the detector reads and writes of a server. */
const servers = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `s${i}`, ejectedUntil: 0 }) as unknown as UpstreamServer);

function detector(list: UpstreamServer[], config: Partial<ConstructorParameters<typeof OutlierDetector>[1]> = {}) {
  const clock = { now: 1_000_000 };
  const log: string[] = [];
  const d = new OutlierDetector(
    list,
    { consecutive5xx: 3, consecutiveConnectFailures: 2, baseEjectionMs: 10_000, maxEjectionMs: 25_000, maxEjectedPercent: 50, ...config },
    {
      ejected: (s, ms, n, reason) => log.push(`${s.id} out ${ms} #${n} (${reason})`),
      released: (s) => log.push(`${s.id} back`),
    },
    () => clock.now,
  );
  return { d, clock, log };
}

t.test('failures in a row eject; a success in between starts the count again', async (t) => {
  const list = servers(4);
  const { d, log, clock } = detector(list);
  t.teardown(() => d.close());
  const s = list[0]!;
  d.report(s, 'error');
  d.report(s, 'error');
  d.report(s, 'ok');
  d.report(s, 'error');
  d.report(s, 'error');
  t.same(log, [], 'two, then two: never three in a row');
  d.report(s, 'error');
  t.same(log, ['s0 out 10000 #1 (3 failed responses in a row)']);
  t.equal(s.ejectedUntil, clock.now + 10_000);
  d.report(list[1]!, 'connect-failure');
  d.report(list[1]!, 'error'); // an answer shows it connects again
  d.report(list[1]!, 'connect-failure');
  t.equal(log.length, 1);
  d.report(list[1]!, 'connect-failure');
  t.equal(log[1], 's1 out 10000 #1 (2 connect failures in a row)');
});

t.test('never more than maxEjectedPercent of the pool; a failing server goes once there is room', async (t) => {
  const list = servers(3);
  const { d, log } = detector(list, { maxEjectedPercent: 50, baseEjectionMs: 30 });
  t.teardown(() => d.close());
  for (const s of list) for (let i = 0; i < 2; i++) d.report(s, 'connect-failure');
  t.same(log, ['s0 out 30 #1 (2 connect failures in a row)'], 'floor(3 × 50%) = 1 server at a time');
  await new Promise((resolve) => setTimeout(resolve, 80));
  t.equal(log[1], 's0 back');
  d.report(list[1]!, 'connect-failure');
  t.equal(log[2], 's1 out 30 #1 (3 connect failures in a row)', 'its failures kept counting while it could not go');
  const single = servers(1);
  const lone = detector(single);
  t.teardown(() => lone.d.close());
  for (let i = 0; i < 5; i++) lone.d.report(single[0]!, 'connect-failure');
  t.same(lone.log, [], 'a one-server pool at 50% never ejects its only server');
});

t.test('ejection time = base × ejections, capped; the count decays while the server behaves', async (t) => {
  const list = servers(2);
  const { d, log, clock } = detector(list, { baseEjectionMs: 20, maxEjectionMs: 50, maxEjectedPercent: 100 });
  t.teardown(() => d.close());
  const s = list[0]!;
  const ejectAndWait = async () => {
    d.report(s, 'connect-failure');
    d.report(s, 'connect-failure');
    await new Promise((resolve) => setTimeout(resolve, 80));
  };
  await ejectAndWait();
  await ejectAndWait();
  await ejectAndWait();
  t.same(
    log.filter((l) => l.includes('out')).map((l) => l.split(' (')[0]),
    ['s0 out 20 #1', 's0 out 40 #2', 's0 out 50 #3'],
    '20, 40, then 60 capped at 50',
  );
  t.equal(d.ejections(s), 3);
  clock.now += 45; // two whole base periods back in rotation
  t.equal(d.ejections(s), 1);
  await ejectAndWait();
  t.match(log.at(-2), /^s0 out 40 #2/, 'the next ejection counts from the decayed number');
});

t.test('close() stops ejection timers: nothing comes back afterwards', async (t) => {
  const list = servers(2);
  const { d, log } = detector(list, { baseEjectionMs: 20, maxEjectedPercent: 100 });
  d.report(list[0]!, 'connect-failure');
  d.report(list[0]!, 'connect-failure');
  d.close();
  await new Promise((resolve) => setTimeout(resolve, 60));
  t.same(log, ['s0 out 20 #1 (2 connect failures in a row)']);
  d.report(list[1]!, 'connect-failure');
  d.report(list[1]!, 'connect-failure');
  t.equal(log.length, 1, 'a closed detector ejects nobody');
});

t.test('retry budget: a share of the requests over 10 s, never below the floor', async (t) => {
  let now = 5_000_000;
  const budget = new RetryBudget(20, 1, () => now);
  const spend = () => {
    let n = 0;
    while (budget.tryRetry()) n++;
    return n;
  };
  t.equal(spend(), 10, 'no traffic yet: the floor, 1/s × 10 s');
  for (let i = 0; i < 100; i++) budget.request();
  t.equal(spend(), 10, '20% of 100 requests is 20 retries, 10 of them already spent');
  now += 5_000;
  for (let i = 0; i < 100; i++) budget.request();
  t.equal(spend(), 20, '200 requests in the window: 40 retries in all');
  now += 6_000;
  t.same(budget.totals(), { requests: 100, retries: 20 }, 'the first second has left the window');
  t.equal(spend(), 0, '20% of 100 is 20, all spent');
  now += 10_000;
  t.same(budget.totals(), { requests: 0, retries: 0 });
  t.equal(spend(), 10, 'an idle window is back to the floor');
  const off = new RetryBudget(0, 0, () => now);
  off.request();
  t.notOk(off.tryRetry(), 'a zero budget and a zero floor allow nothing');
});
