// readClientHello on real loopback sockets: the hello is read, the socket is left exactly as a
// tls.Server needs it (paused, our listeners and timer gone, every byte given back), and a real
// TLS client then completes its handshake through node's native TLS path.
import t from 'tap';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { readClientHello } from '../../proxy/clienthello/read-hello.ts';
import type { ReadHelloResult } from '../../proxy/clienthello/read-hello.ts';
import { makeTestCert } from '../support/test-cert.ts';
import { dripTo, startCaptureServer } from '../support/capture-server.ts';
import { frameRecords } from '../support/hello-builder.ts';
import { referenceHello } from '../support/reference-hellos.ts';

const cert = makeTestCert(['localhost', '127.0.0.1']);
const tlsServer = tls.createServer({ cert: cert.cert, key: cert.key, ALPNProtocols: ['http/1.1'] }, (s) => {
  s.on('data', (d: Buffer) => s.end(`pong:${d.toString()}`));
});
const curlHello = Buffer.from(referenceHello('cap-002').clientHelloHex, 'hex');

function activeTimeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

const listenerNames = ['data', 'end', 'close', 'error', 'readable'] as const;
const listenerCounts = (s: Socket): number[] => listenerNames.map((n) => s.listenerCount(n));

t.test('after the hello, node TLS takes the socket over and the handshake completes', async (t) => {
  const checks: { result: ReadHelloResult; before: number[]; after: number[]; paused: boolean; flowing: boolean | null; timerAdded: number; timerLeft: number }[] = [];
  const server = net.createServer(async (socket) => {
    const acceptedAt = performance.now();
    const before = listenerCounts(socket);
    const timeoutsBefore = activeTimeouts();
    const reading = readClientHello(socket, { maxBytes: 16384, timeoutMs: 5000, acceptedAt });
    const timerAdded = activeTimeouts() - timeoutsBefore;
    const result = await reading;
    checks.push({
      result, before, after: listenerCounts(socket), paused: socket.isPaused(), flowing: socket.readableFlowing,
      timerAdded, timerLeft: activeTimeouts() - timeoutsBefore,
    });
    socket.unshift(result.hello.raw);
    tlsServer.emit('connection', socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;

  const reply = await new Promise<string>((resolve, reject) => {
    const client = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: cert.cert, ALPNProtocols: ['http/1.1'] }, () => {
      client.write('ping');
    });
    let got = '';
    client.setEncoding('utf8').on('data', (d: string) => (got += d));
    client.on('end', () => resolve(got));
    client.on('error', reject);
  });
  t.equal(reply, 'pong:ping', 'data flows both ways over the handed-off socket');

  const c = checks[0]!;
  t.equal(c.result.hello.sni, 'localhost');
  t.same(c.result.hello.alpn, ['http/1.1']);
  t.equal(c.result.hello.raw.length, c.result.hello.helloLength + 5, 'raw is the one record read');
  t.same(c.after, c.before, 'every listener readClientHello added is gone');
  t.ok(c.paused, 'socket paused');
  t.equal(c.flowing, false, 'not flowing');
  t.equal(c.timerAdded, 1, 'one timer while reading');
  t.equal(c.timerLeft, 0, 'timer cleared when done');
  t.equal(c.result.arrival.reads, c.result.arrival.gapsMs.length + 1);
  t.ok(c.result.arrival.acceptToFirstByteMs >= 0 && c.result.arrival.acceptToCompleteMs >= c.result.arrival.acceptToFirstByteMs);
  t.equal(c.result.arrival.records, 1);
});

// Splits everything the client writes into 40-byte pieces sent 2 ms apart, so the hello takes
// many reads; the TLS client then runs over this relay.
function slicingRelay(port: number): Duplex {
  const raw = net.connect(port, '127.0.0.1');
  raw.setNoDelay(true);
  const relay = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, done) {
      void (async () => {
        for (let off = 0; off < chunk.length; off += 40) {
          raw.write(chunk.subarray(off, off + 40));
          await new Promise((r) => setTimeout(r, 2));
        }
        done();
      })();
    },
    final(done) {
      raw.end();
      done();
    },
  });
  raw.on('data', (d) => relay.push(d));
  raw.on('end', () => relay.push(null));
  raw.on('error', (e) => relay.destroy(e));
  return relay;
}

t.test('a hello in many reads is reassembled and the handshake still completes', async (t) => {
  const capture = await startCaptureServer({ handoff: tlsServer });
  t.teardown(() => capture.close());
  const reply = await new Promise<string>((resolve, reject) => {
    const client = tls.connect({ socket: slicingRelay(capture.port), servername: 'localhost', ca: cert.cert }, () => client.write('ping'));
    let got = '';
    client.setEncoding('utf8').on('data', (d: string) => (got += d));
    client.on('end', () => resolve(got));
    client.on('error', reject);
  });
  t.equal(reply, 'pong:ping');
  const c = await capture.next();
  if (!c.ok) throw c.error;
  t.ok(c.arrival.reads >= 5, `${c.arrival.reads} reads`);
  t.equal(c.arrival.gapsMs.length, c.arrival.reads - 1);
  const spread = c.arrival.gapsMs.reduce((a, b) => a + b, 0);
  t.ok(Math.abs(c.arrival.acceptToCompleteMs - c.arrival.acceptToFirstByteMs - spread) < 0.01, 'gaps add up to first→last');
  t.equal(c.hello.raw.length, c.hello.helloLength + 5);
});

t.test('records and reads are counted; bytes after the hello stay in raw', async (t) => {
  const capture = await startCaptureServer();
  t.teardown(() => capture.close());
  const message = curlHello.subarray(5);
  const framed = frameRecords(message, { fragments: [100, 100, 100] });
  const chunks = [framed.subarray(0, 50), framed.subarray(50, 300), framed.subarray(300)];
  const after = Buffer.from('170303000568656c6c6f', 'hex');
  chunks[2] = Buffer.concat([chunks[2]!, after]);
  await dripTo(capture.port, chunks, 40);
  const c = await capture.next();
  if (!c.ok) throw c.error;
  t.equal(c.arrival.records, 4, '100 + 100 + 100 + 212');
  t.equal(c.arrival.reads, 3);
  t.ok(c.arrival.gapsMs.every((g) => g >= 25), `gaps ${c.arrival.gapsMs.map((g) => g.toFixed(1)).join(', ')} ms`);
  t.same(c.hello.raw, Buffer.concat([framed, after]), 'every byte read, the trailing record included');
  t.equal(c.hello.sni, 'localhost');
});

t.test('bad input', async (t) => {
  const capture = await startCaptureServer({ maxBytes: 1024, timeoutMs: 300 });
  t.teardown(() => capture.close());
  const expectError = async (name: string, code: string, send: () => Promise<unknown>): Promise<number> => {
    const started = performance.now();
    await send();
    const c = await capture.next();
    const elapsed = performance.now() - started;
    t.notOk(c.ok, `${name}: refused`);
    if (!c.ok) t.equal((c.error as { code?: string }).code, code, `${name}: ${(c.error as Error).message}`);
    return elapsed;
  };

  const random = Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 7919 + 13) & 0xff));
  random[0] = 0x9c;
  let ms = await expectError('random bytes', 'WEAVER_ERR_HELLO_NOT_TLS', () => dripTo(capture.port, [random], 0));
  t.ok(ms < 250, 'refused without waiting for the deadline');
  ms = await expectError('plain HTTP', 'WEAVER_ERR_HELLO_NOT_TLS', () =>
    dripTo(capture.port, [Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')], 0));
  t.ok(ms < 250, 'refused without waiting for the deadline');
  await expectError('truncated, then FIN', 'WEAVER_ERR_HELLO_TRUNCATED', () => dripTo(capture.port, [curlHello.subarray(0, 200)], 0, true));
  await expectError('truncated, then reset', 'WEAVER_ERR_HELLO_TRUNCATED', async () => {
    const s = await dripTo(capture.port, [curlHello.subarray(0, 200)], 0);
    await new Promise((r) => setTimeout(r, 20));
    s.resetAndDestroy();
  });
  await expectError('connect and close', 'WEAVER_ERR_HELLO_TRUNCATED', () => dripTo(capture.port, [], 0, true));
  const big = Buffer.from(referenceHello('cap-037').clientHelloHex, 'hex');
  t.ok(big.length > 1024, `a ${big.length}-byte hello`);
  ms = await expectError('over the 1024-byte cap', 'WEAVER_ERR_HELLO_TOO_LARGE', () => dripTo(capture.port, [big.subarray(0, 64)], 0));
  t.ok(ms < 250, 'refused from the header, before the rest arrives');
  const bad = Buffer.from(curlHello);
  bad.writeUInt16BE(0xffff, 5 + 4 + 2 + 32 + 1 + 32); // cipher_suites length past the end
  await expectError('malformed lengths', 'WEAVER_ERR_HELLO_MALFORMED', () => dripTo(capture.port, [bad], 0));
  const slices = Array.from({ length: 8 }, (_, i) => curlHello.subarray(i * 65, (i + 1) * 65));
  ms = await expectError('dripped slower than the 300 ms deadline', 'WEAVER_ERR_HELLO_TIMEOUT', () => {
    void dripTo(capture.port, slices, 100);
    return Promise.resolve();
  });
  t.ok(ms >= 280 && ms < 1000, `timed out after ${ms.toFixed(0)} ms`);
});

t.test('a socket already closed is refused at once', async (t) => {
  const server = net.createServer((s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
  socket.resume();
  await new Promise((r) => socket.once('close', r));
  await t.rejects(readClientHello(socket, { maxBytes: 1024, timeoutMs: 1000, acceptedAt: performance.now() }), {
    code: 'WEAVER_ERR_HELLO_TRUNCATED',
  });
});
