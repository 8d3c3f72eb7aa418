// Forwarding headers (spoofed ones dropped unless trusted) and hop-by-hop headers removed in
// both directions, over HTTP/1.1 and HTTP/2 clients.
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { forwardedElement, forwardedHeaders, forwardedNode } from '../../proxy/http/forwarded.ts';
import { upstreamRequestHeaders } from '../../proxy/http/upstream-headers.ts';
import { startProxy } from './fixture.ts';
import { h1Request, h2Request } from './clients.ts';

const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
t.teardown(() => origin.close());
const demo = { demo: { servers: [{ url: `http://127.0.0.1:${origin.port}` }] } };

const hop = { clientAddress: '2001:db8::1', proto: 'https', host: 'example.com:8443' };

t.test('RFC 7239 elements', async (t) => {
  t.equal(forwardedNode('192.0.2.60'), '192.0.2.60');
  t.equal(forwardedNode('2001:db8:cafe::17'), '"[2001:db8:cafe::17]"');
  t.equal(forwardedNode(''), 'unknown');
  t.equal(forwardedElement(hop), 'for="[2001:db8::1]";host="example.com:8443";proto=https');
  t.equal(forwardedElement({ ...hop, clientAddress: '10.0.0.1', host: 'example.com' }), 'for=10.0.0.1;host=example.com;proto=https');
});

t.test('forwarded headers replace or extend the incoming chain', async (t) => {
  t.same(forwardedHeaders(hop, undefined), {
    'x-forwarded-for': '2001:db8::1',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'example.com:8443',
    forwarded: 'for="[2001:db8::1]";host="example.com:8443";proto=https',
  });
  const chained = forwardedHeaders(hop, { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'http', forwarded: 'for=198.51.100.7' });
  t.equal(chained['x-forwarded-for'], '198.51.100.7, 2001:db8::1');
  t.equal(chained['x-forwarded-proto'], 'http', 'the first hop’s proto stands when trusted');
  t.equal(chained.forwarded, 'for=198.51.100.7, for="[2001:db8::1]";host="example.com:8443";proto=https');
});

t.test('upstream header building', async (t) => {
  const out = upstreamRequestHeaders({
    rawHeaders: [
      'Host', 'client.test', 'Connection', 'keep-alive, X-Hop', 'X-Hop', '1', 'Keep-Alive', 'timeout=5',
      'TE', 'trailers, deflate', 'Expect', '100-continue', 'X-Forwarded-For', '6.6.6.6', 'Accept', 'a',
      'Accept', 'b', 'X-Request-Id', 'theirs', 'X-Drop', 'me', 'Proxy-Authorization', 'Basic Zm9v',
    ],
    connection: 'keep-alive, X-Hop',
    te: 'trailers, deflate',
    fromH2: false,
    trustForwarded: false,
    hop: { clientAddress: '127.0.0.1', proto: 'https', host: 'client.test' },
    requestId: 'ours',
    overrides: { 'X-Added': 'yes', 'x-drop': undefined, 'x-num': 3 },
  });
  t.same({ ...out }, {
    accept: ['a', 'b'],
    te: 'trailers',
    'x-forwarded-for': '127.0.0.1',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'client.test',
    forwarded: 'for=127.0.0.1;host=client.test;proto=https',
    host: 'client.test',
    'x-request-id': 'ours',
    'x-added': 'yes',
    'x-num': '3',
  });
});

t.test('spoofed forwarding headers are dropped and replaced', async (t) => {
  const fx = await startProxy({ routes: [{ upstream: 'demo' }], upstreams: demo });
  t.teardown(() => fx.close());
  const spoof = {
    'x-forwarded-for': '6.6.6.6',
    'x-forwarded-proto': 'http',
    'x-forwarded-host': 'evil.test',
    forwarded: 'for=6.6.6.6;proto=http',
  };
  for (const send of [h1Request, h2Request]) {
    const res = await send(fx.url, '/headers', { headers: spoof });
    const { headers } = JSON.parse(res.body.toString()) as { headers: Record<string, string> };
    t.equal(headers['x-forwarded-for'], '127.0.0.1', `${send.name}: x-forwarded-for`);
    t.equal(headers['x-forwarded-proto'], 'https');
    t.equal(headers['x-forwarded-host'], `127.0.0.1:${fx.port}`);
    t.equal(headers.forwarded, `for=127.0.0.1;host="127.0.0.1:${fx.port}";proto=https`);
  }
});

t.test('a trusted hop before us is extended, not replaced', async (t) => {
  const fx = await startProxy({ routes: [{ upstream: 'demo' }], upstreams: demo, http: { trustForwarded: true } });
  t.teardown(() => fx.close());
  const res = await h1Request(fx.url, '/headers', {
    headers: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'www.test', forwarded: 'for=203.0.113.9' },
  });
  const { headers } = JSON.parse(res.body.toString()) as { headers: Record<string, string> };
  t.equal(headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  t.equal(headers['x-forwarded-host'], 'www.test');
  t.equal(headers.forwarded, `for=203.0.113.9, for=127.0.0.1;host="127.0.0.1:${fx.port}";proto=https`);
});

t.test('hop-by-hop request headers never reach the upstream', async (t) => {
  const fx = await startProxy({ routes: [{ upstream: 'demo' }], upstreams: demo });
  t.teardown(() => fx.close());
  const res = await h1Request(fx.url, '/headers', {
    headers: {
      connection: 'keep-alive, x-secret-hop, upgrade',
      'x-secret-hop': 'hidden',
      'keep-alive': 'timeout=5',
      upgrade: 'h2c',
      te: 'trailers',
      'proxy-authorization': 'Basic c2VjcmV0',
      'x-end-to-end': 'kept',
    },
  });
  t.equal(res.status, 200);
  const { headers } = JSON.parse(res.body.toString()) as { headers: Record<string, string> };
  t.equal(headers['x-end-to-end'], 'kept');
  t.equal(headers.te, 'trailers');
  for (const name of ['x-secret-hop', 'keep-alive', 'upgrade', 'proxy-authorization']) t.notOk(name in headers, `${name} removed`);
  t.notMatch(headers.connection ?? '', /secret|upgrade/i, 'the Connection header is the upstream hop’s own');
});

t.test('hop-by-hop response headers never reach the client', async (t) => {
  const upstream = http.createServer((_req, res) => {
    res.writeHead(200, {
      connection: 'x-resp-hop',
      'x-resp-hop': 'hidden',
      'keep-alive': 'timeout=5',
      'proxy-authenticate': 'Basic realm="x"',
      'x-end-to-end': 'kept',
      'content-type': 'text/plain',
    });
    res.end('ok');
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  t.teardown(() => new Promise<void>((resolve) => upstream.close(() => resolve())));
  const fx = await startProxy({
    routes: [{ upstream: 'u' }],
    upstreams: { u: { servers: [{ url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` }] } },
  });
  t.teardown(() => fx.close());
  for (const send of [h1Request, h2Request]) {
    const res = await send(fx.url, '/');
    t.equal(res.status, 200, `${send.name}: status`);
    t.equal(res.body.toString(), 'ok');
    t.equal(res.headers['x-end-to-end'], 'kept');
    for (const name of ['x-resp-hop', 'keep-alive', 'proxy-authenticate']) t.notOk(name in res.headers, `${send.name}: ${name} removed`);
    t.notMatch(String(res.headers.connection ?? ''), /x-resp-hop/);
    t.type(res.headers['x-request-id'], 'string');
  }
  upstream.closeAllConnections();
});
