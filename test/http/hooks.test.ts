// Plugin phases on the HTTP path: onRequest rejects, responds, delays and edits upstream
// headers; onUpstreamSelect re-ranks or picks servers; onResponse sees every answer.
import t from 'tap';
import { request } from 'undici';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { decide } from '../../proxy/hooks/decisions.ts';
import type { RequestContext, ResponseInfo, UpstreamCandidate } from '../../proxy/plugin/types.ts';
import { startProxy, type ProxyFixture } from './fixture.ts';

const a = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
const b = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
t.teardown(async () => {
  await a.close();
  await b.close();
});
const twoServers = {
  pair: {
    servers: [
      { url: `http://127.0.0.1:${a.port}`, weight: 2, labels: ['a'] },
      { url: `http://127.0.0.1:${b.port}`, weight: 1, labels: ['b'] },
    ],
  },
};
const nameOf = (by: unknown) => (by === `127.0.0.1:${a.port}` ? 'a' : by === `127.0.0.1:${b.port}` ? 'b' : String(by));

async function get(fx: ProxyFixture, path: string, headers: Record<string, string> = {}) {
  const res = await request(`${fx.url}${path}`, { dispatcher: fx.agent, headers });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, by: nameOf(res.headers['x-demo-origin']) };
}

t.test('onRequest: reject, respond, delay, continue and upstream headers', async (t) => {
  const seen: RequestContext[] = [];
  const fx = await startProxy({
    routes: [{ upstream: 'pair', name: 'main' }],
    upstreams: twoServers,
    plugins: [
      {
        onRequest(req) {
          seen.push(req);
          if (req.url.startsWith('/reject-429')) return decide.reject('too many', 429);
          if (req.url.startsWith('/reject')) return decide.reject('not you');
          if (req.url.startsWith('/respond')) return decide.respond(201, 'made by a plugin', { 'X-Plugin': 'yes', Connection: 'x-bad' });
          if (req.url.startsWith('/delay')) return decide.delay(150);
          if (req.url.startsWith('/async')) return Promise.resolve(decide.respond(202, 'async'));
          if (req.url.startsWith('/bad-header')) return decide.respond(200, 'x', { 'x-bad': 'a\nb' });
          req.upstreamHeaders['x-added'] = 'by plugin';
          req.upstreamHeaders['user-agent'] = undefined;
          return undefined;
        },
      },
    ],
  });
  t.teardown(() => fx.close());

  const r429 = await get(fx, '/reject-429');
  t.equal(r429.status, 429);
  t.match(JSON.parse(r429.text), { code: 'WEAVER_ERR_REJECTED', requestId: r429.headers['x-request-id'] });
  t.notMatch(r429.text, /too many/, 'the plugin’s reason stays in the log');
  t.ok(fx.logs.some((l) => l.msg === 'request rejected' && l.reason === 'too many'));
  t.equal((await get(fx, '/reject')).status, 403, 'reject defaults to 403');

  const made = await get(fx, '/respond');
  t.equal(made.status, 201);
  t.equal(made.text, 'made by a plugin');
  t.equal(made.headers['x-plugin'], 'yes');
  t.type(made.headers['x-request-id'], 'string');
  t.equal(made.headers['x-demo-origin'], undefined, 'no upstream was asked');
  t.equal((await get(fx, '/async')).status, 202, 'an async decision is awaited');
  const bad = await get(fx, '/bad-header');
  t.equal(bad.status, 500, 'a header node refuses to send becomes a 500, not a crash');
  t.equal(JSON.parse(bad.text).code, 'WEAVER_ERR_INTERNAL');

  const delayed = await get(fx, '/delay');
  t.equal(delayed.status, 404, 'after the delay the request goes on to the origin');
  t.ok(delayed.headers['x-demo-origin']);
  const line = fx.logs.find((l) => l.msg === 'request' && l.path === '/delay');
  t.ok(Number(line?.ms) >= 140, `the delay was applied (${String(line?.ms)} ms)`);

  const plain = await get(fx, '/headers', { 'user-agent': 'test-agent' });
  const { headers } = JSON.parse(plain.text) as { headers: Record<string, string> };
  t.equal(headers['x-added'], 'by plugin');
  t.notOk('user-agent' in headers, 'undefined removes a header');

  const ctx = seen.at(-1)!;
  t.equal(ctx.route, 'main');
  t.equal(ctx.upstream, 'pair');
  t.equal(ctx.host, '127.0.0.1');
  t.equal(ctx.httpVersion, '1.1');
  t.equal(ctx.method, 'GET');
  t.equal(ctx.id, plain.headers['x-request-id']);
  t.equal(ctx.connection.remoteAddress, '127.0.0.1');
  t.doesNotThrow(() => JSON.stringify(ctx), 'a plugin can log the context');
});

t.test('default balancing is smooth weighted round robin', async (t) => {
  const fx = await startProxy({ routes: [{ upstream: 'pair' }], upstreams: twoServers });
  t.teardown(() => fx.close());
  const order: string[] = [];
  for (let i = 0; i < 6; i++) order.push((await get(fx, '/')).by);
  t.same(order, ['a', 'b', 'a', 'a', 'b', 'a']);
});

t.test('onUpstreamSelect: a pick or a ranking decides which server answers', async (t) => {
  const identities = new Set<UpstreamCandidate>();
  const fx = await startProxy({
    routes: [{ upstream: 'pair' }],
    upstreams: twoServers,
    plugins: [
      {
        onUpstreamSelect(req, candidates) {
          for (const c of candidates) identities.add(c);
          if (req.url === '/pick-b') return candidates.find((c) => c.labels.includes('b'));
          if (req.url === '/rank-b') return [...candidates].sort((x) => (x.labels.includes('b') ? -1 : 1));
          if (req.url === '/async-b') return Promise.resolve(candidates.find((c) => c.labels.includes('b')));
          return undefined;
        },
      },
    ],
  });
  t.teardown(() => fx.close());
  for (const path of ['/pick-b', '/rank-b', '/async-b']) {
    const got = new Set<string>();
    for (let i = 0; i < 4; i++) got.add((await get(fx, path)).by);
    t.same([...got], ['b'], `${path}: every request went to b`);
  }
  t.equal(identities.size, 2, 'the same two candidate objects on every request');
  t.same(fx.pluginFailures, []);
});

t.test('onResponse sees relayed and local answers; a throwing hook fails open', async (t) => {
  const responses: Array<{ url: string; info: ResponseInfo; inflight: number | undefined }> = [];
  const fx = await startProxy({
    routes: [{ upstream: 'pair', pathPrefix: '/ok' }],
    upstreams: twoServers,
    plugins: [
      {
        onRequest(req) {
          if (req.url === '/ok/throw') throw new Error('plugin bug');
        },
        onResponse(req, info) {
          responses.push({ url: req.url, info, inflight: info.upstream?.inflight });
        },
      },
    ],
  });
  t.teardown(() => fx.close());
  await get(fx, '/ok/1');
  await get(fx, '/nothing-here');
  const thrown = await get(fx, '/ok/throw');
  t.equal(thrown.status, 404, 'a hook that throws with failure open does not stop the request');
  t.same(fx.pluginFailures, ['t0 onRequest WEAVER_ERR_PLUGIN_THREW']);

  const relayed = responses.find((r) => r.url === '/ok/1')!;
  t.equal(relayed.info.status, 404);
  t.equal(relayed.info.headers['content-type'], 'application/json');
  t.ok(relayed.info.upstream?.id.startsWith('http://127.0.0.1:'));
  t.equal(relayed.inflight, 1, 'the server still counts the exchange in flight at the headers');
  t.ok(relayed.info.durationMs > 0);
  t.ok(relayed.info.upstream!.latencyMs > 0, 'the server’s latency average has a sample');
  const local = responses.find((r) => r.url === '/nothing-here')!;
  t.equal(local.info.status, 404);
  t.equal(local.info.upstream, undefined, 'a response made by Weaver has no upstream');
  t.type(local.info.headers['x-request-id'], 'string');
});
