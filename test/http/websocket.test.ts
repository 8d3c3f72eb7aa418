// WebSocket through the proxy: undici's WebSocket client and a hand-written upgrade request
// against the demo origin's echo, closes propagating both ways, and failures before the 101.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import t from 'tap';
import { WebSocket } from 'undici';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { accessLines, proxyToDemoOrigin, startProxy, waitFor } from './fixture.ts';

const { fx } = await proxyToDemoOrigin(t);
const wsUrl = `wss://127.0.0.1:${fx.port}/ws`;

function nextMessage(ws: WebSocket): Promise<unknown> {
  return new Promise((resolve, reject) => {
    ws.addEventListener('message', (ev) => resolve(ev.data), { once: true });
    ws.addEventListener('error', () => reject(new Error('websocket error')), { once: true });
  });
}

/** A raw upgrade request; resolves with the 101 response and socket, or the non-101 response. */
function rawUpgrade(path: string, key = randomBytes(16).toString('base64')): Promise<{ res: IncomingMessage; socket?: Duplex; key: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${fx.url}${path}`, {
      rejectUnauthorized: false,
      agent: false,
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': key, 'sec-websocket-version': '13', 'x-hop': '1' },
    });
    req.on('upgrade', (res, socket) => resolve({ res, socket, key }));
    req.on('response', (res) => resolve({ res, key }));
    req.on('error', reject);
    req.end();
  });
}

function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]!));
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, body]);
}

t.test('text and binary echo with undici WebSocket; closing the client closes the tunnel', async (t) => {
  const ws = new WebSocket(wsUrl, { dispatcher: fx.agent });
  ws.binaryType = 'arraybuffer';
  await once(ws as unknown as EventTarget, 'open');
  const text = nextMessage(ws);
  ws.send('hello through weaver');
  t.equal(await text, 'hello through weaver');
  const bin = nextMessage(ws);
  const payload = randomBytes(100_000);
  ws.send(payload);
  t.same(Buffer.from((await bin) as ArrayBuffer), payload, 'a 100 kB binary frame comes back intact');
  t.equal(fx.ingress.activeRequests(), 1, 'the open tunnel counts as a request in flight');
  ws.close(1000, 'done');
  const closed = (await once(ws as unknown as EventTarget, 'close')) as [{ code: number }];
  t.equal(closed[0].code, 1000);
  await waitFor(() => fx.ingress.activeRequests() === 0);
  const line = accessLines(fx).find((l) => l.path === '/ws');
  t.equal(line?.status, 101);
  t.ok(Number(line?.bytes) >= 100_000, 'bytes from the upstream are counted');
});

t.test('the 101 carries the request id and a valid accept; frames pass raw', async (t) => {
  const { res, socket, key } = await rawUpgrade('/ws');
  t.equal(res.statusCode, 101);
  t.type(res.headers['x-request-id'], 'string');
  t.equal(String(res.headers.upgrade).toLowerCase(), 'websocket');
  t.equal(String(res.headers.connection).toLowerCase(), 'upgrade');
  const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  t.equal(res.headers['sec-websocket-accept'], accept);
  socket!.write(maskedFrame(0x1, Buffer.from('raw hi')));
  const [frame] = (await once(socket!, 'data')) as [Buffer];
  t.same([...frame.subarray(0, 2)], [0x81, 6], 'an unmasked final text frame');
  t.equal(frame.subarray(2).toString(), 'raw hi');
  socket!.destroy();
  await waitFor(() => fx.ingress.activeRequests() === 0);
});

t.test('the upstream closing closes the client', async (t) => {
  const own = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
  const fx2 = await startProxy({ routes: [{ upstream: 'o' }], upstreams: { o: { servers: [{ url: `http://127.0.0.1:${own.port}` }] } } });
  t.teardown(() => fx2.close());
  const ws = new WebSocket(`wss://127.0.0.1:${fx2.port}/ws`, { dispatcher: fx2.agent });
  await once(ws as unknown as EventTarget, 'open');
  const closing = once(ws as unknown as EventTarget, 'close');
  await own.close();
  const [ev] = (await closing) as [{ code: number }];
  t.equal(ev.code, 1006, 'the client sees the connection drop');
  await waitFor(() => fx2.ingress.activeRequests() === 0);
});

t.test('failures before the 101 are JSON answers on the raw socket', async (t) => {
  const notFound = await rawUpgrade('/nowhere');
  t.equal(notFound.res.statusCode, 502, 'an upstream that refuses the upgrade is a bad gateway');

  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  s.close();
  const fx2 = await startProxy({ routes: [{ upstream: 'dead' }], upstreams: { dead: { servers: [{ url: `http://127.0.0.1:${port}` }] } } });
  t.teardown(() => fx2.close());
  const dead = await new Promise<IncomingMessage>((resolve, reject) => {
    https
      .request(`${fx2.url}/ws`, {
        rejectUnauthorized: false,
        agent: false,
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' },
      })
      .on('response', resolve)
      .on('upgrade', () => reject(new Error('unexpected upgrade')))
      .on('error', reject)
      .end();
  });
  t.equal(dead.statusCode, 502);
  let text = '';
  for await (const chunk of dead) text += String(chunk);
  const body = JSON.parse(text) as { code: string; requestId: string };
  t.equal(body.code, 'WEAVER_ERR_UPSTREAM_CONNECT');
  t.equal(body.requestId, dead.headers['x-request-id']);
});
