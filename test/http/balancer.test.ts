// Smooth weighted round robin and the pool's candidate list built on it.
import t from 'tap';
import { SmoothWeightedRoundRobin } from '../../proxy/upstream/balancer.ts';
import { UpstreamPool } from '../../proxy/upstream/pool.ts';

t.test('nginx’s sequence for weights 5,1,1', async (t) => {
  const servers = [{ id: 'a', weight: 5 }, { id: 'b', weight: 1 }, { id: 'c', weight: 1 }];
  const rr = new SmoothWeightedRoundRobin<(typeof servers)[number]>();
  const firsts = Array.from({ length: 14 }, () => rr.rank(servers)[0]!.id).join('');
  t.equal(firsts, 'aabacaaaabacaa');
});

t.test('a ranking holds every server once, the pick first and the rest rotated after it', async (t) => {
  const servers = [{ id: 'a', weight: 1 }, { id: 'b', weight: 1 }, { id: 'c', weight: 1 }];
  const rr = new SmoothWeightedRoundRobin<(typeof servers)[number]>();
  t.same(rr.rank(servers).map((s) => s.id), ['a', 'b', 'c']);
  t.same(rr.rank(servers).map((s) => s.id), ['b', 'c', 'a']);
  t.same(rr.rank(servers).map((s) => s.id), ['c', 'a', 'b']);
});

t.test('pool candidates: stable identity, live numbers, single-server fast path', async (t) => {
  const base = {
    http2: false,
    connections: 1,
    connectTimeoutMs: 1000,
    headersTimeoutMs: 1000,
    bodyTimeoutMs: 1000,
    keepAliveTimeoutMs: 1000,
    tlsInsecure: false,
  };
  const pool = new UpstreamPool('p', {
    ...base,
    servers: [
      { url: 'http://127.0.0.1:1', weight: 2, labels: ['x'] },
      { url: 'http://127.0.0.1:2/ignored/path', weight: 1, labels: [] },
    ],
  });
  t.teardown(() => pool.close());
  const seen = new Set(Array.from({ length: 6 }, () => pool.candidates()).flat());
  t.equal(seen.size, 2, 'the same two objects every time');
  const order = Array.from({ length: 6 }, () => pool.candidates()[0]!.id);
  t.same(order.filter((id) => id === 'http://127.0.0.1:1').length, 4, 'weight 2 gets two picks of three');
  const [first] = [...seen];
  const server = pool.server(first!)!;
  t.equal(first!.inflight, 0);
  server.inflight++;
  server.recordLatency(10);
  server.recordLatency(20);
  t.equal(first!.inflight, 1, 'inflight is live');
  t.equal(first!.latencyMs, 12, 'latency is a moving average (alpha 0.2)');
  t.ok(Object.isFrozen(first), 'plugins cannot change a candidate');
  t.same(JSON.parse(JSON.stringify(first)), { id: first!.id, url: first!.url, weight: first!.weight, labels: first!.labels, inflight: 1, latencyMs: 12 });
  t.equal(pool.server({ ...first! }), undefined, 'a look-alike object is not a candidate');
  server.inflight--;

  const single = new UpstreamPool('s', { ...base, servers: [{ url: 'http://127.0.0.1:3', weight: 1, labels: [] }] });
  t.teardown(() => single.close());
  t.equal(single.candidates(), single.candidates(), 'one server: one shared list, no allocation per request');
});
