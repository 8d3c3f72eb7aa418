// HTTPS upstreams: HTTP/2 when the pool says http2 (ALPN), certificate checks unless
// tlsInsecure, and bodies streamed over the h2 hop too.
import { once } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { request } from 'undici';
import { h2Request } from './clients.ts';
import { startProxy, testCert } from './fixture.ts';

const { cert, key } = testCert();
const upstream = http2.createSecureServer({ cert, key, allowHTTP1: true }, (req, res) => {
  if (req.url === '/echo') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-hop-version': req.httpVersion });
    req.pipe(res);
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'x-hop-version': req.httpVersion });
  res.end(JSON.stringify({ httpVersion: req.httpVersion, authority: req.headers[':authority'] ?? req.headers.host, xff: req.headers['x-forwarded-for'] }));
});
upstream.listen(0, '127.0.0.1');
await once(upstream, 'listening');
const url = `https://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
t.teardown(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

t.test('http2: true speaks HTTP/2 to the upstream', async (t) => {
  const fx = await startProxy({ routes: [{ upstream: 'h2' }], upstreams: { h2: { servers: [{ url }], http2: true, tlsInsecure: true } } });
  t.teardown(() => fx.close());
  const res = await request(`${fx.url}/`, { dispatcher: fx.agent, headers: { host: 'app.test' } });
  t.equal(res.statusCode, 200);
  t.same(await res.body.json(), { httpVersion: '2.0', authority: 'app.test', xff: '127.0.0.1' });
  const body = Buffer.alloc(2 * 1024 * 1024, 7);
  const echoed = await h2Request(fx.url, '/echo', { method: 'POST', body });
  t.equal(echoed.status, 200);
  t.equal(echoed.headers['x-hop-version'], '2.0');
  t.equal(echoed.body.length, body.length, 'a 2 MiB body both ways over two HTTP/2 hops');
});

t.test('without http2 the same server is reached over HTTP/1.1', async (t) => {
  const fx = await startProxy({ routes: [{ upstream: 'h1' }], upstreams: { h1: { servers: [{ url }], tlsInsecure: true } } });
  t.teardown(() => fx.close());
  const res = await request(fx.url, { dispatcher: fx.agent });
  t.match(await res.body.json(), { httpVersion: '1.1' });
});

t.test('an upstream certificate that does not verify is a 502 unless tlsInsecure', async (t) => {
  const fx = await startProxy({ routes: [{ upstream: 'strict' }], upstreams: { strict: { servers: [{ url }], http2: true } } });
  t.teardown(() => fx.close());
  const res = await request(fx.url, { dispatcher: fx.agent });
  t.equal(res.statusCode, 502);
  t.equal(((await res.body.json()) as { code: string }).code, 'WEAVER_ERR_UPSTREAM_CONNECT');
});
