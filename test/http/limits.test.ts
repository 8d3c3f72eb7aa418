// Client-side limits from `http:` (header size, header timeout, requests per connection, h2
// settings and idle sessions) and the ingress's graceful stop.
import { once } from 'node:events';
import http2 from 'node:http2';
import https from 'node:https';
import tls from 'node:tls';
import t from 'tap';
import { Agent, request } from 'undici';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { h1Request } from './clients.ts';
import { startProxy, waitFor } from './fixture.ts';

const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
t.teardown(() => origin.close());
const demo = { demo: { servers: [{ url: `http://127.0.0.1:${origin.port}` }] } };

function rawTls(port: number): Promise<tls.TLSSocket> {
  const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
  return once(socket, 'secureConnect').then(() => socket);
}

async function readAll(socket: tls.TLSSocket): Promise<string> {
  let text = '';
  socket.setEncoding('utf8');
  for await (const chunk of socket) text += chunk as string;
  return text;
}

t.test('a header block over maxHeaderBytes gets 431 JSON (HTTP/1.1)', async (t) => {
  const fx = await startProxy({ routes: [{ upstream: 'demo' }], upstreams: demo, http: { maxHeaderBytes: 2048 } });
  t.teardown(() => fx.close());
  const ok = await h1Request(fx.url, '/', { headers: { 'x-small': 'a'.repeat(1000) } });
  t.equal(ok.status, 200);
  const big = await h1Request(fx.url, '/', { headers: { 'x-big': 'a'.repeat(4096) } });
  t.equal(big.status, 431);
  const body = JSON.parse(big.body.toString()) as { code: string; requestId: string };
  t.equal(body.code, 'WEAVER_ERR_HEADERS_TOO_LARGE');
  t.equal(big.headers['x-request-id'], body.requestId);
  t.equal(big.headers.connection, 'close');
});

t.test('headers that do not arrive within headersTimeout get 408', async (t) => {
  const fx = await startProxy({ routes: [{ upstream: 'demo' }], upstreams: demo, http: { headersTimeoutMs: 300 } });
  t.teardown(() => fx.close());
  const socket = await rawTls(fx.port);
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
  const text = await readAll(socket);
  t.match(text, /^HTTP\/1\.1 408 /);
  t.match(text, /"code":"WEAVER_ERR_REQUEST_TIMEOUT"/);
});

t.test('a connection that sends nothing is closed at headersTimeout; one that waits and then sends is served', async (t) => {
  const fx = await startProxy({ routes: [{ upstream: 'demo' }], upstreams: demo, http: { headersTimeoutMs: 300 } });
  t.teardown(() => fx.close());
  const silent = await rawTls(fx.port);
  const opened = performance.now();
  const late = await rawTls(fx.port);
  await new Promise((resolve) => setTimeout(resolve, 150));
  late.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const [silentText, lateText] = await Promise.all([readAll(silent), readAll(late)]);
  const waited = performance.now() - opened;
  t.equal(silentText, '', 'closed without an answer: it asked nothing');
  t.ok(waited >= 250 && waited < 5_000, `closed after about headersTimeoutMs (${Math.round(waited)} ms)`);
  t.match(lateText, /^HTTP\/1\.1 200 /, 'a request sent after a pause inside the timeout is served');
});

t.test('an HTTP/1.1 request without Host gets 400 JSON', async (t) => {
  const fx = await startProxy({ routes: [{ upstream: 'demo' }], upstreams: demo });
  t.teardown(() => fx.close());
  const socket = await rawTls(fx.port);
  socket.end('GET / HTTP/1.1\r\nConnection: close\r\n\r\n');
  const text = await readAll(socket);
  t.match(text, /^HTTP\/1\.1 400 /);
  t.match(text, /"code":"WEAVER_ERR_BAD_REQUEST"/);
});

t.test('maxRequestsPerConnection closes HTTP/1.1 connections after N requests', async (t) => {
  const fx = await startProxy({ routes: [{ upstream: 'demo' }], upstreams: demo, http: { maxRequestsPerConnection: 2 } });
  t.teardown(() => fx.close());
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  t.teardown(() => agent.destroy());
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await h1Request(fx.url, '/', { agent })).status);
  t.same(statuses, [200, 200, 200, 200]);
  t.equal(fx.front.connections.length, 2, 'four requests, two connections');
});

t.test('HTTP/2 settings come from http: and idle sessions are closed', async (t) => {
  const fx = await startProxy({
    routes: [{ upstream: 'demo' }],
    upstreams: demo,
    http: { maxConcurrentStreams: 7, keepAliveTimeoutMs: 200, maxHeaderBytes: 4096 },
  });
  t.teardown(() => fx.close());
  const session = http2.connect(fx.url, { rejectUnauthorized: false });
  await once(session, 'remoteSettings');
  t.equal(session.remoteSettings.maxConcurrentStreams, 7);
  t.equal(session.remoteSettings.maxHeaderListSize, 4096);
  const stream = session.request({ ':path': '/' });
  stream.resume();
  await once(stream, 'end');
  await once(session, 'close');
  t.pass('the server closed the idle session');
});

t.test('close(): in-flight requests finish, idle connections go, new ones are refused', async (t) => {
  const fx = await startProxy({ routes: [{ upstream: 'demo' }], upstreams: demo });
  const idle = await request(fx.url, { dispatcher: fx.agent });
  await idle.body.dump();
  const idleConn = fx.front.connections[0]!;
  const h2session = http2.connect(fx.url, { rejectUnauthorized: false });
  const h2stream = h2session.request({ ':path': '/delay/300' });
  const h2body = (async () => {
    let text = '';
    for await (const chunk of h2stream) text += String(chunk);
    return text;
  })();
  const other = new Agent({ connect: { rejectUnauthorized: false } });
  t.teardown(() => other.close());
  const slow = request(`${fx.url}/delay/300`, { dispatcher: other });
  await waitFor(() => fx.ingress.activeRequests() === 2);
  const closing = fx.ingress.close(5_000);
  await waitFor(() => idleConn.closed);
  t.pass('the idle HTTP/1.1 connection was closed at once');
  const late = new Agent({ connect: { rejectUnauthorized: false } });
  t.teardown(() => late.destroy());
  await t.rejects(request(fx.url, { dispatcher: late }), 'a connection made after close() is not served');
  const res = await slow;
  t.equal(res.statusCode, 200, 'the in-flight HTTP/1.1 request finished');
  t.equal(res.headers.connection, 'close', 'and was told the connection ends');
  await res.body.dump();
  t.match(await h2body, /delayedMs/, 'the in-flight HTTP/2 stream finished');
  await closing;
  t.equal(fx.ingress.activeRequests(), 0);
  h2session.destroy();
  await fx.close();
});

t.test('close(deadline) destroys what is still running at the deadline', async (t) => {
  const fx = await startProxy({ routes: [{ upstream: 'demo' }], upstreams: demo });
  const agent = new Agent({ connect: { rejectUnauthorized: false } });
  t.teardown(() => agent.close());
  const slow = request(`${fx.url}/delay/20000`, { dispatcher: agent });
  await waitFor(() => fx.ingress.activeRequests() === 1);
  await fx.ingress.close(100);
  await t.rejects(slow, 'the client sees its connection cut');
  await waitFor(() => fx.ingress.activeRequests() === 0);
  await fx.close();
});
