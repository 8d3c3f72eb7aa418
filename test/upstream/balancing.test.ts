// Each balancing policy through a real Weaver: which server answered each request, counted.
import t, { type Test } from 'tap';
import { startBackend, stopAll, type Backend } from './backends.ts';
import { Client, tally, weaverFor } from './proxy.ts';

async function setup(t: Test, upstream: (b: Backend[]) => string, names: string[], slow: Record<string, number> = {}) {
  const backends = await Promise.all(names.map((n) => startBackend(n, { delayMs: slow[n] ?? 0 })));
  t.teardown(() => stopAll(backends));
  const h = await weaverFor(upstream(backends));
  t.teardown(() => h.stop());
  const client = new Client(h.port);
  t.teardown(() => client.close());
  return { backends, h, client };
}


t.test('round-robin: weights 3:1 give exactly 300 and 100 of 400, also when requests overlap', async (t) => {
  const { client } = await setup(
    t,
    ([a, b]) => `
    balance: round-robin
    servers: [{ url: "${a!.url}", weight: 3 }, { url: "${b!.url}", weight: 1 }]`,
    ['a', 'b'],
  );
  const answers = await client.many(400, 8);
  t.ok(answers.every((a) => a.status === 200));
  t.same(tally(answers), { a: 300, b: 100 });
});

t.test('least-request: a slow server holds its requests longer, so it is given fewer', async (t) => {
  const { client } = await setup(
    t,
    (bs) => `
    balance: least-request
    servers: [${bs.map((b) => `{ url: "${b.url}" }`).join(', ')}]`,
    ['a', 'b', 'slow'],
    { slow: 40 },
  );
  const answers = await client.many(300, 6);
  t.ok(answers.every((a) => a.status === 200));
  const got = tally(answers);
  // Round robin would give each 100.
  t.ok((got.slow ?? 0) * 2 < got.a! && (got.slow ?? 0) * 2 < got.b!, `slow gets less than half of a fast one: ${JSON.stringify(got)}`);
});

t.test('least-request: idle and sequential, ties rotate by weight', async (t) => {
  const { client } = await setup(
    t,
    ([a, b, c]) => `
    balance: least-request
    servers: [{ url: "${a!.url}", weight: 2 }, { url: "${b!.url}" }, { url: "${c!.url}" }]`,
    ['a', 'b', 'c'],
  );
  t.same(tally(await client.many(40, 1)), { a: 20, b: 10, c: 10 });
});

t.test('p2c-ewma: a slow server loses nearly every draw once its latency is measured', async (t) => {
  const { client } = await setup(
    t,
    (bs) => `
    balance: p2c-ewma
    servers: [${bs.map((b) => `{ url: "${b.url}" }`).join(', ')}]`,
    ['a', 'b', 'slow'],
    { slow: 40 },
  );
  const answers = await client.many(300, 4);
  t.ok(answers.every((a) => a.status === 200));
  const got = tally(answers);
  t.ok((got.slow ?? 0) < 15, `slow answered ${got.slow ?? 0} of 300 (round robin: 100): ${JSON.stringify(got)}`);
  t.ok(got.a! > 100 && got.b! > 100, 'the fast ones share the rest');
});
