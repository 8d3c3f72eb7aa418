// What the client gets when the upstream side fails: JSON with a stable code and the request id
// in body and header before the response started, a cut response after it; and the counters.
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import t from 'tap';
import { request } from 'undici';
import type { RouteConfig } from '../../proxy/config/schema.ts';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { classifyUpstreamError } from '../../proxy/upstream/upstream-error.ts';
import { UpstreamRegistry } from '../../proxy/upstream/registry.ts';
import { h1Request, h2Request } from './clients.ts';
import { startProxy, type ProxyFixture } from './fixture.ts';

interface ErrorBody {
  error: string;
  code: string;
  requestId: string;
}

async function deadPort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function errorCount(fx: ProxyFixture, code: string): Promise<number> {
  const m = await fx.metrics.upstreamErrors.get();
  return m.values.filter((v) => v.labels.code === code).reduce((n, v) => n + v.value, 0);
}

t.test('undici failures map to stable codes', async (t) => {
  const code = (err: unknown, connected: boolean) => classifyUpstreamError(err, connected).code;
  t.equal(code(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), false), 'WEAVER_ERR_UPSTREAM_CONNECT');
  t.equal(code(Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' }), false), 'WEAVER_ERR_UPSTREAM_CONNECT_TIMEOUT');
  t.equal(code(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), true), 'WEAVER_ERR_UPSTREAM_TIMEOUT');
  t.equal(code(Object.assign(new Error('x'), { code: 'UND_ERR_BODY_TIMEOUT' }), true), 'WEAVER_ERR_UPSTREAM_BODY_TIMEOUT');
  t.equal(code(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' }), true), 'WEAVER_ERR_UPSTREAM');
  t.equal(code(Object.assign(new Error('cert'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), false), 'WEAVER_ERR_UPSTREAM_CONNECT');
});

t.test('a dead upstream gives 502 with the request id, and the client connection survives', async (t) => {
  const fx = await startProxy({
    routes: [{ upstream: 'dead' }],
    upstreams: { dead: { servers: [{ url: `http://127.0.0.1:${await deadPort()}` }] } },
  });
  t.teardown(() => fx.close());
  const res = await request(`${fx.url}/x`, { dispatcher: fx.agent, method: 'POST', body: 'some body' });
  t.equal(res.statusCode, 502);
  const body = (await res.body.json()) as ErrorBody;
  t.equal(body.code, 'WEAVER_ERR_UPSTREAM_CONNECT');
  t.equal(body.error, 'upstream server unreachable');
  t.match(body.requestId, /\S/);
  t.equal(res.headers['x-request-id'], body.requestId, 'the same id in header and body');
  t.equal(res.headers['content-type'], 'application/json');

  // One socket at most: a second request can only succeed on the same connection if it survived.
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  t.teardown(() => agent.destroy());
  const conns = fx.front.connections.length;
  const first = await h1Request(fx.url, '/a', { method: 'POST', body: Buffer.alloc(2 * 1024 * 1024), agent });
  const second = await h1Request(fx.url, '/b', { agent });
  t.same([first.status, second.status], [502, 502]);
  t.equal(fx.front.connections.length, conns + 1, 'both requests on one kept-alive connection');

  const h2 = await h2Request(fx.url, '/z');
  t.equal(h2.status, 502);
  t.equal((JSON.parse(h2.body.toString()) as ErrorBody).requestId, h2.headers['x-request-id']);
  t.equal(await errorCount(fx, 'WEAVER_ERR_UPSTREAM_CONNECT'), 4);
  t.ok(fx.logs.some((l) => l.msg === 'upstream request failed' && l.code === 'WEAVER_ERR_UPSTREAM_CONNECT'));
});

t.test('a slow upstream past headersTimeout gives 504 with the request id', async (t) => {
  const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
  const fx = await startProxy({
    routes: [{ upstream: 'slow' }],
    upstreams: { slow: { servers: [{ url: `http://127.0.0.1:${origin.port}` }], headersTimeoutMs: 150 } },
  });
  t.teardown(async () => {
    await fx.close();
    await origin.close();
  });
  const res = await request(`${fx.url}/delay/3000`, { dispatcher: fx.agent, headers: { 'x-request-id': 'slow-1' } });
  t.equal(res.statusCode, 504);
  const body = (await res.body.json()) as ErrorBody;
  t.equal(body.code, 'WEAVER_ERR_UPSTREAM_TIMEOUT');
  t.equal(body.requestId, 'slow-1');
  t.equal(res.headers['x-request-id'], 'slow-1');
  t.equal(await errorCount(fx, 'WEAVER_ERR_UPSTREAM_TIMEOUT'), 1);
  const fast = await request(`${fx.url}/delay/1`, { dispatcher: fx.agent });
  t.equal(fast.statusCode, 200, 'a quick answer still passes');
  await fast.body.dump();
});

t.test('an upstream that breaks or stalls mid-body cuts the response', async (t) => {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-length': 1000 });
    res.write('x'.repeat(100));
    if (req.url === '/break') setTimeout(() => res.socket?.destroy(), 20);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const fx = await startProxy({
    routes: [{ upstream: 'u' }],
    upstreams: { u: { servers: [{ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }], bodyTimeoutMs: 200 } },
  });
  t.teardown(async () => {
    await fx.close();
    server.closeAllConnections();
    server.close();
  });
  for (const path of ['/break', '/stall']) {
    const res = await request(`${fx.url}${path}`, { dispatcher: fx.agent });
    t.equal(res.statusCode, 200, `${path}: the head was already relayed`);
    await t.rejects(res.body.text(), `${path}: the client sees the body cut short`);
  }
  t.equal(await errorCount(fx, 'WEAVER_ERR_UPSTREAM'), 1);
  t.equal(await errorCount(fx, 'WEAVER_ERR_UPSTREAM_BODY_TIMEOUT'), 1);
});

t.test('update() swaps routing; a route to a pool that does not exist gives 503', async (t) => {
  const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
  const fx = await startProxy({
    routes: [{ upstream: 'demo' }],
    upstreams: { demo: { servers: [{ url: `http://127.0.0.1:${origin.port}` }] } },
  });
  const next = new UpstreamRegistry({});
  t.teardown(async () => {
    await fx.close();
    await next.close();
    await origin.close();
  });
  const before = await request(fx.url, { dispatcher: fx.agent });
  t.equal(before.statusCode, 200);
  await before.body.dump();
  const routes: RouteConfig[] = [{ upstream: 'ghost', match: { pathPrefix: '/' } }];
  fx.ingress.update(routes, next);
  const after = await request(fx.url, { dispatcher: fx.agent });
  t.equal(after.statusCode, 503);
  const body = (await after.body.json()) as ErrorBody;
  t.equal(body.code, 'WEAVER_ERR_NO_UPSTREAM');
  t.equal(body.requestId, after.headers['x-request-id']);
});
