// Client-certificate behaviour after the server asks for one (a pool with clientCertificate:
// request): a certificate that verifies is remembered on the client's profile and leaves it
// alone; one that does not verify raises the connection's score right after the handshake (its
// requests are sent to reconnect, 421), and the client's next hello is routed to the strict pool.
import tls from 'node:tls';
import t from 'tap';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { makeClientCert, makeTestCa } from '../support/test-ca.ts';
import { repoRoot, startWeaver } from '../support/weaver-harness.ts';
import { adminJson, decisionFor, LISTS, type Decision } from './support.ts';

const ca = makeTestCa();
const alice = makeClientCert(ca, 'alice');
const mallory = makeClientCert(makeTestCa('Other CA'), 'mallory');
const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
t.teardown(() => origin.close());
const h = await startWeaver(`
log: { level: info, accessLog: true }
listeners: [{ name: https, port: 0, pool: primary }]
handshakePools:
  primary: { kind: local, certificates: [{ dev: true, hosts: [localhost] }], clientCertificate: request, clientCa: ${ca.certFile} }
  strict: { kind: local, certificates: [{ dev: true, hosts: [localhost] }], clientCertificate: request, clientCa: ${ca.certFile}, minVersion: TLSv1.3 }
routes: [{ match: { pathPrefix: / }, upstream: origin }]
upstreams:
  origin: { servers: [{ url: "http://127.0.0.1:${origin.port}" }] }
plugins:
  - use: ${repoRoot}plugins/bae/index.ts
    options: { lists: ${JSON.stringify(LISTS)} }
admin: { port: 0 }
`);
t.teardown(() => h.stop());

interface Explained {
  profile: { clientCertificates: number; clientCertificatesUnverified: number };
}

/** A TLS connection from `src` with an optional client certificate, and the status of one request over it. */
function requestOver(src: string, client?: { cert: string; key: string }): Promise<{ status: number; localPort: number }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: h.port, servername: 'localhost', rejectUnauthorized: false, localAddress: src, ALPNProtocols: ['http/1.1'], ...client } as tls.ConnectionOptions);
    s.once('error', reject);
    s.once('secureConnect', () => {
      const localPort = s.localPort ?? 0;
      s.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString('latin1')));
      s.once('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), localPort }));
    });
  });
}

async function decisions(src: string): Promise<Array<Decision & { phase: string }>> {
  return (await adminJson<Array<Decision & { phase: string }>>(h.adminPort, '/decisions?limit=5000')).filter((d) => d.address === src);
}

t.test('a certificate that verifies', async (t) => {
  const src = '127.61.0.1';
  for (let i = 0; i < 2; i++) t.equal((await requestOver(src, alice)).status, 200, `request ${i + 1} answered`);
  const e = await adminJson<Explained>(h.adminPort, `/explain?addr=${src}`);
  t.equal(e.profile.clientCertificates, 2);
  t.equal(e.profile.clientCertificatesUnverified, 0);
  t.ok((await decisions(src)).every((d) => d.action === 'primary'));
});

t.test('no certificate when one is only requested: nothing to hold against the client', async (t) => {
  const src = '127.61.1.1';
  t.equal((await requestOver(src)).status, 200);
  const e = await adminJson<Explained>(h.adminPort, `/explain?addr=${src}`);
  t.equal(e.profile.clientCertificates, 0);
});

t.test('a certificate that does not verify', async (t) => {
  const src = '127.61.2.1';
  const first = await requestOver(src, mallory);
  t.equal(first.status, 421, 'the request on that connection is sent to reconnect');
  const after = (await decisions(src)).find((d) => d.phase === 'handshake');
  t.ok(after, 'a decision right after the handshake');
  t.match(after, { action: 'strict', reasons: [{ signal: 'client-cert-unverified', detail: /CN=mallory/ }] });
  const second = await requestOver(src, mallory);
  const hello = await decisionFor(h.adminPort, src, second.localPort);
  t.not(hello.action, 'primary', `the next hello goes to the strict pool (${hello.action}, ${hello.score})`);
  t.ok(hello.reasons.some((r) => r.signal === 'client-cert-unverified'));
  const e = await adminJson<Explained>(h.adminPort, `/explain?addr=${src}`);
  t.equal(e.profile.clientCertificatesUnverified, 2);
  // Another client of the same pool, with a certificate that verifies, is still answered.
  t.equal((await requestOver('127.61.3.1', alice)).status, 200);
});
