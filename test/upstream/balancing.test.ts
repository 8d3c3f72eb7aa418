// Each balancing policy through a real Weaver: which server answered each request, counted.
import t from 'tap';
import { tally, withBackends } from './proxy.ts';

t.test('round-robin: weights 3:1 give exactly 300 and 100 of 400, also when requests overlap', async (t) => {
  const { client } = await withBackends(
    t,
    ['a', 'b'],
    ([a, b]) => `
    balance: round-robin
    servers: [{ url: "${a!.url}", weight: 3 }, { url: "${b!.url}", weight: 1 }]`,
  );
  const answers = await client.many(400, 8);
  t.ok(answers.every((a) => a.status === 200));
  t.same(tally(answers), { a: 300, b: 100 });
});

t.test('least-request: a slow server holds its requests longer, so it is given fewer', async (t) => {
  const { client } = await withBackends(
    t,
    ['a', 'b', 'slow'],
    (bs) => `
    balance: least-request
    servers: [${bs.map((b) => `{ url: "${b.url}" }`).join(', ')}]`,
    { slow: 40 },
  );
  const answers = await client.many(300, 6);
  t.ok(answers.every((a) => a.status === 200));
  const got = tally(answers);
  // Round robin would give each 100.
  t.ok((got.slow ?? 0) * 2 < got.a! && (got.slow ?? 0) * 2 < got.b!, `slow gets less than half of a fast one: ${JSON.stringify(got)}`);
});

t.test('least-request: idle and sequential, ties rotate by weight', async (t) => {
  const { client } = await withBackends(
    t,
    ['a', 'b', 'c'],
    ([a, b, c]) => `
    balance: least-request
    servers: [{ url: "${a!.url}", weight: 2 }, { url: "${b!.url}" }, { url: "${c!.url}" }]`,
  );
  t.same(tally(await client.many(40, 1)), { a: 20, b: 10, c: 10 });
});

t.test('p2c-ewma: a slow server loses nearly every draw once its latency is measured', async (t) => {
  const { client } = await withBackends(
    t,
    ['a', 'b', 'slow'],
    (bs) => `
    balance: p2c-ewma
    servers: [${bs.map((b) => `{ url: "${b.url}" }`).join(', ')}]`,
    { slow: 40 },
  );
  const answers = await client.many(300, 4);
  t.ok(answers.every((a) => a.status === 200));
  const got = tally(answers);
  t.ok((got.slow ?? 0) < 15, `slow answered ${got.slow ?? 0} of 300 (round robin: 100): ${JSON.stringify(got)}`);
  t.ok(got.a! > 100 && got.b! > 100, 'the fast ones share the rest');
});
