// Retries through a real Weaver: idempotent requests without a body go to another server after a
// connect failure, a reset or a configured status; POST and bodies never do; nothing is retried
// once the response has started; the retry budget caps a storm. Errors Weaver answers itself are
// JSON with the request id.
import t from 'tap';
import type { Backend } from './backends.ts';
import { metricValue, tally, withBackends } from './proxy.ts';

const servers = (bs: Backend[]) => `servers: [${bs.map((b) => `{ url: "${b.url}" }`).join(', ')}]`;

t.test('the retry budget stops a retry storm when every server fails', async (t) => {
  const { backends, h, client } = await withBackends(
    t,
    ['a', 'b', 'c'],
    (bs) => `
    ${servers(bs)}
    outlierDetection: { consecutive5xx: 0 }
    retries: { attempts: 2, budgetPercent: 20, minRetriesPerSecond: 1, on: ["503"] }`,
  );
  for (const b of backends) b.status = 503;
  const answers = await client.many(100, 1);
  t.ok(answers.every((a) => a.status === 503 && a.by !== ''), 'each client gets the last server’s own 503');
  // Unbudgeted, 100 requests × 3 attempts = 300. Budgeted: 20% of 100 = 20 retries; the first
  // five requests spend the 10-retry floor at once, the rest come as the requests earn them.
  t.equal(backends.reduce((n, b) => n + b.total(), 0), 120);
  t.equal(await metricValue(h, 'weaver_upstream_retries_total', { upstream: 'app', reason: '503' }), 20);
  t.equal(await metricValue(h, 'weaver_upstream_retry_budget_exhausted_total', { upstream: 'app' }), 95);
});

t.test('connection refused: GET and a PUT without a body are retried; POST and a PUT with a body are not', async (t) => {
  const { backends, h, client } = await withBackends(t, ['dead', 'live'], (bs) => `
    ${servers(bs)}
    outlierDetection: { consecutiveConnectFailures: 5 }`);
  const [dead, live] = backends as [Backend, Backend];
  await dead.kill();
  // Equal weights alternate dead, live, dead, live…: every other request starts on the dead one.
  const post = await client.send('/', { method: 'POST', body: 'order #1' });
  t.equal(post.status, 502, 'POST to the dead server: not retried');
  t.same(JSON.parse(post.body), { error: 'upstream server unreachable', code: 'WEAVER_ERR_UPSTREAM_CONNECT', requestId: post.requestId });
  t.match(post.requestId, /\S/);
  t.equal((await client.send('/')).by, 'live');
  const putWithBody = await client.send('/', { method: 'PUT', body: 'state' });
  t.equal(putWithBody.status, 502, 'a body was handed to the failed attempt: not retried');
  t.equal((await client.send('/')).by, 'live');
  const get = await client.send('/', { headers: { 'x-request-id': 'get-1' } });
  t.match(get, { status: 200, by: 'live', requestId: 'get-1' }, 'GET is retried on the live server');
  t.equal((await client.send('/')).by, 'live');
  const put = await client.send('/', { method: 'PUT' });
  t.match(put, { status: 200, by: 'live' }, 'PUT without a body too');
  t.same(Object.fromEntries(live.hits), { GET: 4, PUT: 1 }, 'live never saw the POST or the PUT with a body');
  t.equal(await metricValue(h, 'weaver_upstream_retries_total', { upstream: 'app', reason: 'connect-failure' }), 2);
  const retried = h.logs.find((l) => l.msg === 'retrying upstream request' && l.req === 'get-1');
  t.match(retried, { from: dead.url, to: live.url, reason: 'connect-failure', why: 'WEAVER_ERR_UPSTREAM_CONNECT' });
});

t.test('a 503 is retried on another server for GET, relayed as is for POST', async (t) => {
  const { backends, client } = await withBackends(t, ['busy', 'ok'], servers);
  const [busy, ok] = backends as [Backend, Backend];
  busy.status = 503;
  const post = await client.send('/', { method: 'POST', body: 'x' });
  t.match(post, { status: 503, by: 'busy', body: 'busy' }, 'the server’s own answer');
  t.equal((await client.send('/')).by, 'ok');
  t.match(await client.send('/'), { status: 200, by: 'ok' }, 'busy answered 503 first, ok answered the retry');
  t.same(Object.fromEntries(busy.hits), { POST: 1, GET: 1 });
  t.same(Object.fromEntries(ok.hits), { GET: 2 });
});

t.test('a server that drops the connection before answering: GET goes elsewhere, POST gets 502', async (t) => {
  const { backends, client } = await withBackends(t, ['dropper', 'ok'], servers);
  const [dropper] = backends as [Backend, Backend];
  dropper.mode = 'reset';
  t.match(await client.send('/'), { status: 200, by: 'ok' }, 'reset, then retried');
  t.match(await client.send('/', { method: 'POST' }), { status: 200, by: 'ok' });
  const post = await client.send('/', { method: 'POST', headers: { 'x-request-id': 'post-reset' } });
  t.equal(post.status, 502);
  t.same(JSON.parse(post.body), { error: 'bad response from upstream', code: 'WEAVER_ERR_UPSTREAM', requestId: 'post-reset' });
});

t.test('nothing is retried once the response head reached the client', async (t) => {
  const { backends, client } = await withBackends(t, ['cutter', 'ok'], servers);
  const [cutter, ok] = backends as [Backend, Backend];
  cutter.mode = 'cut';
  await t.rejects(client.send('/'), 'the client sees the body cut short');
  t.equal(cutter.total(), 1);
  t.equal(ok.total(), 0, 'and no second attempt was made');
});

t.test('a response timeout answers 504 with the request id; with `timeout` in retries.on another server answers', async (t) => {
  const slowOnly = await withBackends(t, ['slow'], (bs) => `
    ${servers(bs)}
    headersTimeoutMs: 150`);
  // undici checks headersTimeout on a coarse (~0.5-1 s) timer: the server must be slower than that.
  slowOnly.backends[0]!.delayMs = 2_000;
  const res = await slowOnly.client.send('/', { headers: { 'x-request-id': 'slow-1' } });
  t.equal(res.status, 504);
  t.same(JSON.parse(res.body), { error: 'upstream response timed out', code: 'WEAVER_ERR_UPSTREAM_TIMEOUT', requestId: 'slow-1' });
  t.equal(res.requestId, 'slow-1');

  const pair = await withBackends(t, ['slow', 'fast'], (bs) => `
    ${servers(bs)}
    headersTimeoutMs: 150
    retries: { on: [timeout] }`);
  pair.backends[0]!.delayMs = 2_000;
  const answers = await pair.client.many(2, 1);
  t.same(tally(answers), { fast: 2 }, 'the first timed out on slow, then went to fast');
  t.equal(await metricValue(pair.h, 'weaver_upstream_retries_total', { upstream: 'app', reason: 'timeout' }), 1);
});
