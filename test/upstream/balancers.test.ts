// The balancing policies on plain objects, and the pool's candidate list built on them.
import t from 'tap';
import { LeastRequest } from '../../proxy/upstream/least-request.ts';
import { PowerOfTwoChoicesEwma } from '../../proxy/upstream/p2c-ewma.ts';
import { UpstreamPool } from '../../proxy/upstream/pool.ts';
import { SmoothWeightedRoundRobin } from '../../proxy/upstream/round-robin.ts';
import { seeded, upstreamConfig } from './config.ts';

interface Fake {
  id: string;
  weight: number;
  inflight: number;
  latencyMs: number;
  latencyAt: number;
}
const fake = (id: string, weight = 1, more: Partial<Fake> = {}): Fake => ({ id, weight, inflight: 0, latencyMs: 0, latencyAt: 0, ...more });
const count = (ids: string[]) => ids.reduce<Record<string, number>>((m, id) => ({ ...m, [id]: (m[id] ?? 0) + 1 }), {});

t.test('round robin: nginx’s sequence for weights 5,1,1', async (t) => {
  const servers = [fake('a', 5), fake('b'), fake('c')];
  const rr = new SmoothWeightedRoundRobin<Fake>();
  const firsts = Array.from({ length: 14 }, () => rr.rank(servers)[0]!.id).join('');
  t.equal(firsts, 'aabacaaaabacaa');
});

t.test('round robin: a ranking holds every server once, the pick first and the rest rotated after it', async (t) => {
  const servers = [fake('a'), fake('b'), fake('c')];
  const rr = new SmoothWeightedRoundRobin<Fake>();
  t.same(rr.rank(servers).map((s) => s.id), ['a', 'b', 'c']);
  t.same(rr.rank(servers).map((s) => s.id), ['b', 'c', 'a']);
  t.same(rr.rank(servers).map((s) => s.id), ['c', 'a', 'b']);
});

t.test('least-request: fewest in flight per unit of weight wins; the rest follow by load', async (t) => {
  const a = fake('a', 1, { inflight: 3 });
  const b = fake('b', 2, { inflight: 4 });
  const c = fake('c', 1, { inflight: 1 });
  const lr = new LeastRequest<Fake>();
  t.same(lr.rank([a, b, c]).map((s) => s.id), ['c', 'b', 'a'], '1/1 < 4/2 < 3/1');
  c.inflight = 5;
  t.same(lr.rank([a, b, c]).map((s) => s.id), ['b', 'a', 'c']);
});

t.test('least-request: ties rotate by weight instead of always taking the first', async (t) => {
  const servers = [fake('a', 3), fake('b'), fake('c')];
  const lr = new LeastRequest<Fake>();
  const firsts = Array.from({ length: 10 }, () => lr.rank(servers)[0]!.id);
  t.same(count(firsts), { a: 6, b: 2, c: 2 }, 'idle: weights 3:1:1 over two cycles');
  t.equal(firsts.join(''), 'abacaabaca', 'spread out, not in bursts');
  // Only the tied servers take part: b is busy, so a and c share 3:1.
  servers[1]!.inflight = 1;
  t.same(count(Array.from({ length: 8 }, () => lr.rank(servers)[0]!.id)), { a: 6, c: 2 });
});

t.test('p2c-ewma: an idle pool follows the weights through the draws', async (t) => {
  const servers = [fake('a', 3), fake('b'), fake('c')];
  const p2c = new PowerOfTwoChoicesEwma<Fake>(seeded(1));
  const got = count(Array.from({ length: 5000 }, () => p2c.rank(servers)[0]!.id));
  t.ok(got.a! > 2700 && got.a! < 3300, `a (weight 3 of 5) took ${got.a} of 5000`);
  t.ok(got.b! > 700 && got.b! < 1300 && got.c! > 700 && got.c! < 1300, `b ${got.b}, c ${got.c}`);
  const again = new PowerOfTwoChoicesEwma<Fake>(seeded(1));
  const fresh = [fake('a', 3), fake('b'), fake('c')];
  t.same(count(Array.from({ length: 5000 }, () => again.rank(fresh)[0]!.id)), got, 'the same seed gives the same picks');
});

t.test('p2c-ewma: a slow server loses every draw it takes part in', async (t) => {
  const now = 1_000;
  const servers = [fake('a', 1, { latencyMs: 2, latencyAt: now }), fake('b', 1, { latencyMs: 3, latencyAt: now }), fake('slow', 1, { latencyMs: 50, latencyAt: now })];
  const p2c = new PowerOfTwoChoicesEwma<Fake>(seeded(7), () => now);
  const ranks = Array.from({ length: 300 }, () => p2c.rank(servers).map((s) => s.id));
  t.equal(ranks.filter((r) => r[0] === 'slow').length, 0, 'never first');
  t.ok(ranks.every((r) => r.length === 3 && new Set(r).size === 3), 'every ranking holds each server once');
  // In flight counts too: a at 2 ms with 30 requests queued costs more than slow idle.
  servers[0]!.inflight = 30;
  const picks = count(Array.from({ length: 300 }, () => p2c.rank(servers)[0]!.id));
  t.ok((picks.b ?? 0) > 0 && (picks.slow ?? 0) > 0 && picks.a === undefined, `a is avoided while loaded: ${JSON.stringify(picks)}`);
});

t.test('p2c-ewma: a server unused for a while gets another chance', async (t) => {
  let now = 1_000;
  const servers = [fake('a', 1, { latencyMs: 2, latencyAt: now }), fake('slow', 1, { latencyMs: 50, latencyAt: 0.001 })];
  const p2c = new PowerOfTwoChoicesEwma<Fake>(seeded(3), () => now);
  t.equal(p2c.rank(servers)[0]!.id, 'a');
  // 50 ms measured 40 s ago counts as 50·e^-4 ≈ 0.9 ms now; a's 2 ms is fresh.
  now = 40_000;
  servers[0]!.latencyAt = now;
  t.equal(p2c.rank(servers)[0]!.id, 'slow');
});

t.test('pool candidates: stable identity, live numbers, single-server fast path', async (t) => {
  const pool = new UpstreamPool(
    'p',
    upstreamConfig({ servers: [{ url: 'http://127.0.0.1:1', weight: 2, labels: ['x'] }, { url: 'http://127.0.0.1:2/ignored/path' }] }),
  );
  t.teardown(() => pool.close());
  const seen = new Set(Array.from({ length: 6 }, () => pool.candidates()).flat());
  t.equal(seen.size, 2, 'the same two objects every time');
  const order = Array.from({ length: 6 }, () => pool.candidates()[0]!.id);
  t.equal(order.filter((id) => id === 'http://127.0.0.1:1').length, 4, 'weight 2 gets two picks of three');
  const [first] = [...seen];
  const server = pool.server(first!)!;
  t.equal(first!.inflight, 0);
  server.inflight++;
  server.recordLatency(10);
  server.recordLatency(20);
  t.equal(first!.inflight, 1, 'inflight is live');
  t.equal(first!.latencyMs, 12, 'latency is a moving average (alpha 0.2)');
  t.ok(Object.isFrozen(first), 'plugins cannot change a candidate');
  t.same(JSON.parse(JSON.stringify(first)), {
    id: first!.id,
    url: first!.url,
    weight: first!.weight,
    labels: first!.labels,
    inflight: 1,
    latencyMs: 12,
    healthy: true,
    ejected: false,
  });
  t.equal(pool.server({ ...first! }), undefined, 'a look-alike object is not a candidate');
  server.inflight--;

  const single = new UpstreamPool('s', upstreamConfig({ servers: [{ url: 'http://127.0.0.1:3' }] }));
  t.teardown(() => single.close());
  t.equal(single.candidates(), single.candidates(), 'one server: one shared list, no allocation per request');
});

t.test('pool: the balancer and plugins only see servers in rotation', async (t) => {
  const pool = new UpstreamPool(
    'p',
    upstreamConfig({
      servers: [{ url: 'http://127.0.0.1:1' }, { url: 'http://127.0.0.1:2' }, { url: 'http://127.0.0.1:3' }],
      outlierDetection: { consecutiveConnectFailures: 2, maxEjectedPercent: 100 },
    }),
  );
  t.teardown(() => pool.close());
  const [a, b, c] = pool.servers;
  pool.report(a!, 'connect-failure');
  t.equal(pool.candidates().length, 3, 'one failure is not enough');
  pool.report(a!, 'connect-failure');
  t.same(new Set(Array.from({ length: 4 }, () => pool.candidates().map((x) => x.id)).flat()), new Set([b!.id, c!.id]));
  t.equal(a!.candidate.ejected, true, 'the candidate says so, live');
  c!.healthy = false;
  pool.report(b!, 'ok');
  pool.report(c!, 'error'); // a report on its own does not rebuild the rotation; a health change does
  pool.report(b!, 'connect-failure');
  pool.report(b!, 'connect-failure');
  t.same(pool.candidates(), [], 'nobody left: an empty list, and the pipeline answers 503');
  const status = pool.describe();
  t.equal(status.inRotation, 0);
  t.match(status.servers[0], { id: a!.id, ejectedUntil: /^\d{4}-\d\d-\d\dT/, ejections: 1, failures: 2 });
  t.match(status.servers[2], { healthy: false, ejectedUntil: null, failures: 1 });
});
