// The listener's other path: TLS over a JS Duplex (a packet tap between the TCP socket and
// TLS) instead of the native socket. The ingress must serve both protocols on it the same way.
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { WebSocket, request } from 'undici';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { h2Request } from './clients.ts';
import { startProxy } from './fixture.ts';

const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
const fx = await startProxy({
  routes: [{ upstream: 'demo' }],
  upstreams: { demo: { servers: [{ url: `http://127.0.0.1:${origin.port}` }] } },
  transport: 'js-stream',
});
t.teardown(async () => {
  await fx.close();
  await origin.close();
});

t.test('HTTP/1.1 and HTTP/2 over a JS stream', async (t) => {
  const h1 = await request(fx.url, { dispatcher: fx.agent, headers: { accept: 'application/json' } });
  t.equal(h1.statusCode, 200);
  t.match(await h1.body.json(), { xForwardedFor: '127.0.0.1', httpVersion: '1.1' });
  const body = randomBytes(1024 * 1024);
  const h2 = await h2Request(fx.url, '/echo', { method: 'POST', body });
  t.equal(h2.status, 200);
  t.same(h2.body, body, 'a 1 MiB HTTP/2 upload comes back intact');
});

t.test('WebSocket over a JS stream', async (t) => {
  const ws = new WebSocket(`wss://127.0.0.1:${fx.port}/ws`, { dispatcher: fx.agent });
  await once(ws as unknown as EventTarget, 'open');
  const echoed = new Promise((resolve) => ws.addEventListener('message', (ev) => resolve(ev.data), { once: true }));
  ws.send('over a tap');
  t.equal(await echoed, 'over a tap');
  ws.close();
  await once(ws as unknown as EventTarget, 'close');
});
