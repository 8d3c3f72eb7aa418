// The demo origin on its own: its endpoints, their bounds, and the WebSocket echo's framing.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import t from 'tap';
import { request } from 'undici';
import { DEMO_MAX_BYTES, startDemoOrigin } from '../../proxy/demo-origin.ts';

const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
t.teardown(() => origin.close());
const base = `http://127.0.0.1:${origin.port}`;

t.test('hello in text and JSON', async (t) => {
  const text = await request(`${base}/`);
  t.match(await text.body.text(), /^Hello from the Weaver demo origin\n/);
  t.equal(text.headers['x-demo-origin'], `127.0.0.1:${origin.port}`);
  const json = await request(`${base}/?a=1`, { headers: { accept: 'application/json', 'x-request-id': 'r1', forwarded: 'for=1.2.3.4' } });
  t.match(await json.body.json(), { method: 'GET', path: '/?a=1', httpVersion: '1.1', requestId: 'r1', forwarded: 'for=1.2.3.4' });
});

t.test('bytes, status, delay and their bounds', async (t) => {
  const bytes = await request(`${base}/bytes/100000`);
  t.equal((await bytes.body.arrayBuffer()).byteLength, 100_000);
  const tooMany = await request(`${base}/bytes/${DEMO_MAX_BYTES + 1}`);
  t.equal(tooMany.statusCode, 404);
  await tooMany.body.dump();
  const teapot = await request(`${base}/status/418`);
  t.equal(teapot.statusCode, 418);
  await teapot.body.dump();
  const empty = await request(`${base}/status/204`);
  t.equal(empty.statusCode, 204);
  await empty.body.dump();
  const bad = await request(`${base}/status/99`);
  t.equal(bad.statusCode, 404);
  await bad.body.dump();
  const delayed = await request(`${base}/delay/5`);
  t.same(await delayed.body.json(), { delayedMs: 5 });
  const tooLong = await request(`${base}/delay/999999`);
  t.equal(tooLong.statusCode, 404);
  await tooLong.body.dump();
});

t.test('echo streams the body back', async (t) => {
  const body = randomBytes(300_000);
  const res = await request(`${base}/echo`, { method: 'POST', body, headers: { 'content-type': 'application/x-test' } });
  t.equal(res.headers['content-type'], 'application/x-test');
  t.same(Buffer.from(await res.body.arrayBuffer()), body);
});

function upgrade(): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    http
      .request(`${base}/ws`, { headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': randomBytes(16).toString('base64'), 'sec-websocket-version': '13' } })
      .on('upgrade', (_res, socket) => resolve(socket))
      .on('response', (res) => reject(new Error(`status ${res.statusCode}`)))
      .on('error', reject)
      .end();
  });
}

function frame(opcode: number, payload: Buffer, mask = true, fin = true): Buffer {
  const head = payload.length < 126 ? Buffer.from([0, payload.length]) : Buffer.from([0, 126, payload.length >> 8, payload.length & 0xff]);
  head[0] = (fin ? 0x80 : 0) | opcode;
  if (!mask) return Buffer.concat([head, payload]);
  head[1] = head[1]! | 0x80;
  const key = randomBytes(4);
  return Buffer.concat([head, key, Buffer.from(payload.map((b, i) => b ^ key[i & 3]!))]);
}

const inboxes = new WeakMap<Duplex, { buf: Buffer; wake: () => void }>();

/** The next `n` bytes from the socket; one listener keeps everything, so nothing is lost between reads. */
async function read(socket: Duplex, n: number): Promise<Buffer> {
  let box = inboxes.get(socket);
  if (!box) {
    const created = { buf: Buffer.alloc(0), wake: () => {} };
    socket.on('data', (chunk: Buffer) => {
      created.buf = Buffer.concat([created.buf, chunk]);
      created.wake();
    });
    inboxes.set(socket, created);
    box = created;
  }
  while (box.buf.length < n) await new Promise<void>((resolve) => (box.wake = resolve));
  const out = box.buf.subarray(0, n);
  box.buf = box.buf.subarray(n);
  return out;
}

t.test('websocket echo: fragments, ping, close', async (t) => {
  const socket = await upgrade();
  // A message in two fragments, split across writes mid-header: both come back as sent.
  const wire = Buffer.concat([frame(0x1, Buffer.from('hel'), true, false), frame(0x0, Buffer.from('lo'))]);
  socket.write(wire.subarray(0, 3));
  socket.write(wire.subarray(3));
  const echoed = await read(socket, 2 + 3 + 2 + 2);
  t.same([...echoed.subarray(0, 2)], [0x01, 3], 'first fragment: not final, text');
  t.equal(echoed.subarray(2, 5).toString(), 'hel');
  t.same([...echoed.subarray(5, 7)], [0x80, 2], 'continuation, final');
  t.equal(echoed.subarray(7, 9).toString(), 'lo');
  const big = randomBytes(70_000);
  socket.write(frame(0x2, big.subarray(0, 60_000)));
  const bin = await read(socket, 4 + 60_000);
  t.same([...bin.subarray(0, 4)], [0x82, 126, 60_000 >> 8, 60_000 & 0xff]);
  t.same(bin.subarray(4), big.subarray(0, 60_000));
  socket.write(frame(0x9, Buffer.from('p')));
  t.same([...(await read(socket, 3))], [0x8a, 1, 0x70], 'ping gets pong');
  socket.write(frame(0x8, Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65])));
  t.same([...(await read(socket, 4))], [0x88, 2, 0x03, 0xe8], 'close is echoed with its code');
  await once(socket, 'close');
});

t.test('websocket echo refuses unmasked client frames with 1002', async (t) => {
  const socket = await upgrade();
  socket.write(frame(0x1, Buffer.from('x'), false));
  t.same([...(await read(socket, 4))], [0x88, 2, 0x03, 0xea]);
  await once(socket, 'close');
});
