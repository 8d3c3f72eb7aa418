// GET through the proxy to the demo origin over HTTP/1.1 and HTTP/2 with several real clients,
// and what the request leaves behind: the request id, the access log line, the counters.
import t from 'tap';
import { request } from 'undici';
import { accessLines, proxyToDemoOrigin, startProxy } from './fixture.ts';
import { curl, h2Request } from './clients.ts';

const { origin, fx } = await proxyToDemoOrigin(t);

interface Seen {
  message: string;
  httpVersion: string;
  path: string;
  requestId: string;
  xForwardedFor: string;
  xForwardedProto: string;
  xForwardedHost: string;
  forwarded: string;
}

t.test('HTTP/1.1 GET with undici reaches the origin', async (t) => {
  const res = await request(`${fx.url}/?q=secret-token`, { dispatcher: fx.agent, headers: { accept: 'application/json' } });
  t.equal(res.statusCode, 200);
  const seen = (await res.body.json()) as Seen;
  t.equal(seen.message, 'Hello from the Weaver demo origin');
  t.equal(seen.path, '/?q=secret-token', 'path and query reach the origin unchanged');
  t.equal(seen.httpVersion, '1.1');
  const id = res.headers['x-request-id'];
  t.type(id, 'string');
  t.equal(seen.requestId, id, 'the origin saw the id the client got');
  t.equal(seen.xForwardedFor, '127.0.0.1');
  t.equal(seen.xForwardedProto, 'https');
  t.equal(seen.xForwardedHost, `127.0.0.1:${fx.port}`);
  t.equal(seen.forwarded, `for=127.0.0.1;host="127.0.0.1:${fx.port}";proto=https`);

  const line = accessLines(fx).find((l) => l.req === id);
  t.ok(line, 'one access log line for the request');
  t.equal(line?.path, '/', 'the access log leaves the query string out');
  t.equal(line?.status, 200);
  t.equal(line?.method, 'GET');
  t.equal(line?.route, 'route0');
  t.equal(line?.upstream, 'demo');
  t.ok(Number(line?.bytes) > 0);
  t.notOk(JSON.stringify(fx.logs).includes('secret-token'), 'the query never reaches any log line');
});

t.test('HTTP/2 GET with node http2 is relayed to the HTTP/1.1 origin', async (t) => {
  const res = await h2Request(fx.url, '/', { headers: { accept: 'application/json', cookie: 'a=1', 'x-extra': 'yes' } });
  t.equal(res.status, 200);
  const seen = JSON.parse(res.body.toString()) as Seen;
  t.equal(seen.httpVersion, '1.1', 'the upstream hop is HTTP/1.1');
  t.equal(seen.xForwardedHost, `127.0.0.1:${fx.port}`, ':authority becomes the upstream Host');
  t.equal(seen.requestId, res.headers['x-request-id']);
  const line = accessLines(fx).find((l) => l.req === seen.requestId);
  t.equal(line?.status, 200);
});

t.test('HTTP/2 cookie crumbs are joined for the HTTP/1.1 hop', async (t) => {
  const res = await h2Request(fx.url, '/headers', { headers: { cookie: ['a=1', 'b=2'] } });
  const { headers } = JSON.parse(res.body.toString()) as { headers: Record<string, string> };
  t.equal(headers.cookie, 'a=1; b=2');
  t.equal(headers.host, `127.0.0.1:${fx.port}`);
});

t.test('curl over HTTP/1.1 and HTTP/2', async (t) => {
  const h1 = await curl(['--http1.1', '-w', '\n%{http_version} %{http_code}', `${fx.url}/`]);
  t.match(h1.stdout, /^Hello from the Weaver demo origin/);
  t.match(h1.stdout, /\n1\.1 200$/);
  const h2 = await curl(['--http2', '-w', '\n%{http_version} %{http_code}', `${fx.url}/`]);
  t.match(h2.stdout, /^Hello from the Weaver demo origin/);
  t.match(h2.stdout, /\n2 200$/);
});

t.test('a client request id is kept only when sane', async (t) => {
  const kept = await request(fx.url, { dispatcher: fx.agent, headers: { 'x-request-id': 'trace-abc.123_X' } });
  await kept.body.dump();
  t.equal(kept.headers['x-request-id'], 'trace-abc.123_X');
  const replaced = await request(fx.url, { dispatcher: fx.agent, headers: { 'x-request-id': 'evil id\twith spaces' } });
  await replaced.body.dump();
  t.not(replaced.headers['x-request-id'], 'evil id\twith spaces');
  t.match(String(replaced.headers['x-request-id']), /^[A-Za-z0-9._-]+$/);
  const long = await request(fx.url, { dispatcher: fx.agent, headers: { 'x-request-id': 'a'.repeat(129) } });
  await long.body.dump();
  t.not(long.headers['x-request-id'], 'a'.repeat(129));
});

t.test('requests are counted per connection and in metrics', async (t) => {
  const before = fx.front.connections.reduce((n, c) => n + c.requests, 0);
  for (let i = 0; i < 3; i++) {
    const res = await request(fx.url, { dispatcher: fx.agent });
    await res.body.dump();
  }
  const after = fx.front.connections.reduce((n, c) => n + c.requests, 0);
  t.equal(after - before, 3);
  const metric = await fx.metrics.requests.get();
  const ok = metric.values.find((v) => v.labels.route === 'route0' && v.labels.status === '200');
  t.ok(ok && ok.value >= 3);
  const latency = await fx.metrics.upstreamSeconds.get();
  t.ok(latency.values.some((v) => v.labels.upstream === 'demo' && Number(v.value) > 0));
  t.equal(fx.ingress.activeRequests(), 0, 'nothing left in flight');
});

t.test('no route answers 404 JSON with the request id', async (t) => {
  const fx2 = await startProxy({
    routes: [{ host: ['only.example'], upstream: 'demo' }],
    upstreams: { demo: { servers: [{ url: `http://127.0.0.1:${origin.port}` }] } },
  });
  t.teardown(() => fx2.close());
  const res = await request(`${fx2.url}/x`, { dispatcher: fx2.agent });
  t.equal(res.statusCode, 404);
  const body = (await res.body.json()) as { code: string; requestId: string; error: string };
  t.equal(body.code, 'WEAVER_ERR_NO_ROUTE');
  t.equal(body.requestId, res.headers['x-request-id']);
  t.equal(res.headers['content-type'], 'application/json');
});
