// SIGHUP with a config that changes the route's upstream and the certificate, while a WebSocket
// and a long HTTP/2 stream are open: both keep working on the old config to the end, every new
// connection gets the new certificate and the new route, and the old runtime closes only once
// the old streams are done.
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import http2 from 'node:http2';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import t from 'tap';
import { Agent, WebSocket } from 'undici';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { makeTestCert, type TestCert } from '../support/test-cert.ts';
import { freePort, msg, startWeaverProcess, tempDir, writeConfig } from './weaver-process.ts';

function config(port: number, adminPort: number, cert: TestCert, upstream: string, url: string): string {
  return `workers: 1
drainTimeoutMs: 20000
listeners: [{ name: https, port: ${port} }]
handshakePools:
  primary: { kind: local, certificates: [{ cert: ${cert.certFile}, key: ${cert.keyFile} }] }
routes: [{ name: main, upstream: ${upstream} }]
upstreams: { ${upstream}: { servers: [{ url: "${url}" }] } }
admin: { port: ${adminPort} }
`;
}

/** One request on a fresh connection: who answered, and which certificate the handshake showed. */
function freshRequest(base: string): Promise<{ origin: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(`${base}/`, { rejectUnauthorized: false, agent: false }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      res.resume();
      res.on('end', () => resolve({ origin: String(res.headers['x-demo-origin']), fingerprint }));
    });
    req.on('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<unknown> {
  return new Promise((resolve, reject) => {
    ws.addEventListener('message', (ev) => resolve(ev.data), { once: true });
    ws.addEventListener('error', () => reject(new Error('websocket error')), { once: true });
  });
}

t.test('open WebSocket and HTTP/2 stream survive a reload that changes route and certificate', async (t) => {
  const originA = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
  const originB = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
  t.teardown(() => Promise.all([originA.close(), originB.close()]));
  const cert1 = makeTestCert();
  const cert2 = makeTestCert();
  const fp1 = new X509Certificate(cert1.cert).fingerprint256;
  const fp2 = new X509Certificate(cert2.cert).fingerprint256;
  t.not(fp1, fp2);

  const [port, adminPort] = [await freePort(), await freePort()];
  const dir = tempDir(t);
  const file = writeConfig(dir, config(port, adminPort, cert1, 'a', `http://127.0.0.1:${originA.port}`));
  const proc = await startWeaverProcess(file, { teardown: (fn) => t.teardown(fn) });
  const base = `https://127.0.0.1:${port}`;

  const before = await freshRequest(base);
  t.same(before, { origin: `127.0.0.1:${originA.port}`, fingerprint: fp1 }, 'first config: origin A, certificate 1');

  // The WebSocket, through Weaver to origin A's echo.
  const agent = new Agent({ connect: { rejectUnauthorized: false } });
  t.teardown(() => agent.close());
  const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, { dispatcher: agent });
  await once(ws as unknown as EventTarget, 'open');
  const first = nextMessage(ws);
  ws.send('before the reload');
  t.equal(await first, 'before the reload');

  // The long HTTP/2 stream: a streaming POST to /echo, left open.
  const session = http2.connect(base, { rejectUnauthorized: false });
  session.on('error', () => undefined);
  const stream = session.request({ ':method': 'POST', ':path': '/echo', 'content-type': 'text/plain' });
  const echoed: Buffer[] = [];
  let headers: http2.IncomingHttpHeaders = {};
  stream.on('response', (h) => (headers = h));
  const gotFirst = new Promise<void>((resolve) => stream.once('data', () => resolve()));
  stream.on('data', (c: Buffer) => echoed.push(c));
  const streamEnded = once(stream, 'end');
  stream.write('part one, ');
  await gotFirst;
  const sessionFingerprint = (session.socket as TLSSocket).getPeerCertificate().fingerprint256;
  t.equal(sessionFingerprint, fp1);

  const mark = proc.logs.length;
  writeConfig(dir, config(port, adminPort, cert2, 'b', `http://127.0.0.1:${originB.port}`));
  proc.kill('SIGHUP');
  const reloaded = await proc.waitForLog(msg('reloaded'), { from: mark });
  t.match(reloaded, { generation: 2, listeners: { kept: ['https'], started: [], stopped: [] } }, 'the listener was kept');
  t.ok((reloaded.draining as number) >= 2, 'both open connections stay on the old runtime');

  const after = await freshRequest(base);
  t.same(after, { origin: `127.0.0.1:${originB.port}`, fingerprint: fp2 }, 'new connections: origin B, certificate 2');
  const h2session = http2.connect(base, { rejectUnauthorized: false });
  const h2res = h2session.request({ ':path': '/' });
  const [h2head] = (await once(h2res, 'response')) as [http2.IncomingHttpHeaders];
  h2res.resume();
  t.equal(h2head['x-demo-origin'], `127.0.0.1:${originB.port}`, 'a new HTTP/2 connection goes to origin B');
  t.equal((h2session.socket as TLSSocket).getPeerCertificate().fingerprint256, fp2);
  h2session.close();

  const second = nextMessage(ws);
  ws.send('after the reload');
  t.equal(await second, 'after the reload', 'the WebSocket still echoes');
  stream.end('part two');
  await streamEnded;
  t.equal(headers[':status'], 200);
  t.equal(headers['x-demo-origin'], `127.0.0.1:${originA.port}`, 'the old stream stayed with origin A');
  t.equal(Buffer.concat(echoed).toString(), 'part one, part two', 'the HTTP/2 stream finished whole');

  t.notOk(
    proc.logs.slice(mark).some((l) => l.msg === 'previous runtime closed'),
    'the old runtime is still open while the WebSocket is',
  );
  ws.close();
  session.close();
  const closed = await proc.waitForLog(msg('previous runtime closed'), { from: mark });
  t.equal(closed.cut, 0, 'it closed because its last connection did, not by the drain timeout');
  t.equal((await freshRequest(base)).origin, `127.0.0.1:${originB.port}`);
  proc.kill('SIGTERM');
  t.equal(await proc.exited, 0);
});
