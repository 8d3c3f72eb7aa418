// Bodies stream through in both directions, with backpressure: a client that stops reading
// stops the origin, an origin that stops reading stops the client, and the proxy never holds a
// whole body. The request body limit counts streamed bytes.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { request } from 'undici';
import { h2Request } from './clients.ts';
import { proxyToDemoOrigin, startProxy, waitFor } from './fixture.ts';

const MiB = 1024 * 1024;
const { fx } = await proxyToDemoOrigin(t);

/** `total` bytes of a repeating pattern, made chunk by chunk as the consumer pulls. */
function patternBody(total: number, produced: { bytes: number } = { bytes: 0 }): Readable {
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = i % 251;
  return Readable.from(
    (function* () {
      while (produced.bytes < total) {
        const n = Math.min(chunk.length, total - produced.bytes);
        produced.bytes += n;
        yield n === chunk.length ? chunk : chunk.subarray(0, n);
      }
    })(),
  );
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Resolves once `read()` has not changed over several polls: the flow is stalled. */
async function stalled(read: () => number): Promise<number> {
  let last = -1;
  let same = 0;
  for (let i = 0; i < 250 && same < 5; i++) {
    await sleep(20);
    const now = read();
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}

t.test('10 MiB download with a slow reader, HTTP/1.1', async (t) => {
  const res = await request(`${fx.url}/bytes/${10 * MiB}`, { dispatcher: fx.agent });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-length'], String(10 * MiB));
  let got = 0;
  let reads = 0;
  for await (const chunk of res.body) {
    got += (chunk as Buffer).length;
    if (++reads % 16 === 0) await sleep(1);
  }
  t.equal(got, 10 * MiB);
});

t.test('10 MiB download, HTTP/2', async (t) => {
  const res = await h2Request(fx.url, `/bytes/${10 * MiB}`);
  t.equal(res.status, 200);
  t.equal(res.body.length, 10 * MiB);
});

t.test('10 MiB upload echoed back, HTTP/1.1 chunked', async (t) => {
  const want = createHash('sha256');
  for await (const b of patternBody(10 * MiB)) want.update(b as Buffer);
  const res = await request(`${fx.url}/echo`, { dispatcher: fx.agent, method: 'POST', body: patternBody(10 * MiB) });
  t.equal(res.statusCode, 200);
  const got = createHash('sha256');
  let n = 0;
  for await (const chunk of res.body) {
    got.update(chunk as Buffer);
    n += (chunk as Buffer).length;
  }
  t.equal(n, 10 * MiB);
  t.equal(got.digest('hex'), want.digest('hex'));
});

t.test('10 MiB upload echoed back, HTTP/2', async (t) => {
  const body = Buffer.alloc(10 * MiB);
  for (let i = 0; i < body.length; i++) body[i] = i % 253;
  const res = await h2Request(fx.url, '/echo', { method: 'POST', body });
  t.equal(res.status, 200);
  t.equal(res.body.length, body.length);
  t.equal(sha256(res.body), sha256(body));
});

t.test('a client that stops reading stops the origin; the proxy buffers nothing big', async (t) => {
  const total = 64 * MiB;
  let written = 0;
  const slow = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-length': total });
    const chunk = Buffer.alloc(64 * 1024, 1);
    const pump = () => {
      while (written < total) {
        written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  slow.listen(0, '127.0.0.1');
  await once(slow, 'listening');
  const fx2 = await startProxy({
    routes: [{ upstream: 'slow' }],
    upstreams: { slow: { servers: [{ url: `http://127.0.0.1:${(slow.address() as AddressInfo).port}` }] } },
  });
  t.teardown(async () => {
    await fx2.close();
    slow.closeAllConnections();
    slow.close();
  });
  const res = await request(fx2.url, { dispatcher: fx2.agent });
  t.equal(res.statusCode, 200);
  // Not reading: undici's body stream fills its buffer and stops the socket.
  const stuckAt = await stalled(() => written);
  t.ok(stuckAt < total, `the origin stalled at ${(stuckAt / MiB).toFixed(1)} MiB of 64`);
  const proxySide = fx2.front.connections.at(-1)!.socket;
  t.ok(proxySide.writableLength < 2 * MiB, `the proxy holds ${proxySide.writableLength} bytes for the client`);
  let got = 0;
  for await (const chunk of res.body) got += (chunk as Buffer).length;
  t.equal(got, total, 'everything arrives once the client reads');
});

t.test('an origin that stops reading stops the client upload', async (t) => {
  const total = 64 * MiB;
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const sink = http.createServer((req, res) => {
    req.pause();
    void gate.then(async () => {
      let n = 0;
      for await (const chunk of req) n += (chunk as Buffer).length;
      res.end(String(n));
    });
  });
  sink.listen(0, '127.0.0.1');
  await once(sink, 'listening');
  const fx2 = await startProxy({
    routes: [{ upstream: 'sink' }],
    upstreams: { sink: { servers: [{ url: `http://127.0.0.1:${(sink.address() as AddressInfo).port}` }] } },
  });
  t.teardown(async () => {
    await fx2.close();
    sink.closeAllConnections();
    sink.close();
  });
  const produced = { bytes: 0 };
  const pending = request(`${fx2.url}/upload`, { dispatcher: fx2.agent, method: 'PUT', body: patternBody(total, produced) });
  const stuckAt = await stalled(() => produced.bytes);
  t.ok(stuckAt < total, `the client stalled at ${(stuckAt / MiB).toFixed(1)} MiB of 64`);
  release();
  const res = await pending;
  t.equal(await res.body.text(), String(total), 'the origin got every byte once it read');
});

t.test('request bodies over maxBodyBytes get 413', async (t) => {
  // Reads the whole body before answering, so the limit trips before any response exists.
  const counter = http.createServer((req, res) => {
    let n = 0;
    req.on('data', (chunk: Buffer) => (n += chunk.length));
    req.on('end', () => res.end(String(n)));
    req.on('error', () => res.destroy());
  });
  counter.listen(0, '127.0.0.1');
  await once(counter, 'listening');
  const fx2 = await startProxy({
    routes: [{ upstream: 'count' }],
    upstreams: { count: { servers: [{ url: `http://127.0.0.1:${(counter.address() as AddressInfo).port}` }] } },
    http: { maxBodyBytes: MiB },
  });
  t.teardown(async () => {
    await fx2.close();
    counter.closeAllConnections();
    counter.close();
  });

  const declared = await request(`${fx2.url}/`, { dispatcher: fx2.agent, method: 'POST', body: Buffer.alloc(MiB + 1) });
  t.equal(declared.statusCode, 413, 'a Content-Length over the limit');
  const body = (await declared.body.json()) as { code: string; requestId: string };
  t.equal(body.code, 'WEAVER_ERR_BODY_TOO_LARGE');
  t.equal(body.requestId, declared.headers['x-request-id']);

  const streamed = await request(`${fx2.url}/`, { dispatcher: fx2.agent, method: 'POST', body: patternBody(4 * MiB) });
  t.equal(streamed.statusCode, 413, 'a chunked body that crosses the limit while streaming');
  t.equal(((await streamed.body.json()) as { code: string }).code, 'WEAVER_ERR_BODY_TOO_LARGE');

  const h2 = await h2Request(fx2.url, '/', { method: 'POST', body: Buffer.alloc(3 * MiB) });
  t.equal(h2.status, 413, 'an HTTP/2 body that crosses the limit');
  t.equal((JSON.parse(h2.body.toString()) as { code: string }).code, 'WEAVER_ERR_BODY_TOO_LARGE');

  const fits = await request(`${fx2.url}/`, { dispatcher: fx2.agent, method: 'POST', body: patternBody(MiB) });
  t.equal(fits.statusCode, 200, 'a body at the limit passes');
  t.equal(await fits.body.text(), String(MiB));
  const lines = () => fx2.logs.filter((l) => l.msg === 'request' && l.status === 413);
  await waitFor(() => lines().length === 3);
  t.equal(lines().length, 3, 'three access log lines with 413');
  t.equal(fx2.logs.filter((l) => l.msg === 'bad request').length, 0, 'a client that gives up its body is not logged as a bad request');
  t.equal(fx2.logs.filter((l) => l.msg === 'upstream request failed').length, 0, 'a client over the limit is not an upstream error');
});

t.test('HTTP/2 clients get the upstream response trailers', async (t) => {
  const origin = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
    res.write('abc');
    res.addTrailers({ 'x-checksum': 'c0ffee', connection: 'close' });
    res.end();
  });
  origin.listen(0, '127.0.0.1');
  await once(origin, 'listening');
  const fx2 = await startProxy({
    routes: [{ upstream: 'trailing' }],
    upstreams: { trailing: { servers: [{ url: `http://127.0.0.1:${(origin.address() as AddressInfo).port}` }] } },
  });
  const session = http2.connect(fx2.url, { rejectUnauthorized: false });
  t.teardown(async () => {
    session.destroy();
    await fx2.close();
    origin.closeAllConnections();
    origin.close();
  });
  const stream = session.request({ ':path': '/' });
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  const trailed = once(stream, 'trailers') as Promise<[http2.IncomingHttpHeaders]>;
  await once(stream, 'end');
  const [trailers] = await trailed;
  t.equal(Buffer.concat(chunks).toString(), 'abc');
  t.equal(trailers['x-checksum'], 'c0ffee', 'the trailer crosses');
  t.equal(trailers.connection, undefined, 'a connection-specific trailer does not');
});
