// Handshake pools: a client routed to a `remote` pool completes its handshake with that remote
// terminator; a client routed to a stricter `local` pool gets its policy.
import t from 'tap';
import tls from 'node:tls';
import https from 'node:https';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { makeTestCert } from '../support/test-cert.ts';
import { startWeaver, repoRoot } from '../support/weaver-harness.ts';

const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
t.teardown(() => origin.close());

// The remote terminator: a TLS server of its own with its own certificate for far.test.
const farCert = makeTestCert(['far.test']);
const far = https.createServer({ cert: farCert.cert, key: farCert.key }, (req, res) => {
  res.end(`remote terminator answered ${req.url}`);
});
far.listen(0, '127.0.0.1');
await once(far, 'listening');
t.teardown(() => far.close());
const farPort = (far.address() as AddressInfo).port;

const h = await startWeaver(`
listeners: [{ name: https, port: 0 }]
handshakePools:
  primary:
    kind: local
    certificates: [{ dev: true, hosts: [localhost, strict.test] }]
  strict:
    kind: local
    certificates: [{ dev: true, hosts: [localhost, strict.test] }]
    minVersion: TLSv1.3
    handshakeTimeoutMs: 2000
  far:
    kind: remote
    targets: [{ address: "127.0.0.1:1" }, { address: "127.0.0.1:${farPort}" }]
routes: [{ match: { pathPrefix: / }, upstream: origin }]
upstreams:
  origin: { servers: [{ url: "http://127.0.0.1:${origin.port}" }] }
plugins:
  - use: ${repoRoot}test/fixtures/plugins/sni-router.ts
    options: { routes: { far.test: far, strict.test: strict } }
admin: { enabled: false }
`);
t.teardown(() => h.stop());

function handshake(opts: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: h.port, rejectUnauthorized: false, ...opts }, () => resolve(s));
    s.once('error', reject);
  });
}

t.test('a client routed to a remote pool handshakes with the remote terminator', async (t) => {
  const s = await handshake({ servername: 'far.test', ca: farCert.cert, rejectUnauthorized: true });
  const peer = s.getPeerX509Certificate();
  t.equal(peer?.subject, 'CN=far.test', "the far server's certificate");
  t.equal(peer?.subjectAltName, 'DNS:far.test', 'it names far.test (and the client verified it)');
  s.write('GET /via-weaver HTTP/1.1\r\nHost: far.test\r\nConnection: close\r\n\r\n');
  let body = '';
  for await (const chunk of s) body += chunk;
  t.match(body, /remote terminator answered \/via-weaver/);
  const line = await h.waitForLog((l) => l.msg === 'remote terminator failed; trying another');
  t.match(line.target, '127.0.0.1:1', 'a dead terminator is skipped');
});

t.test('the strict pool refuses a TLS 1.2-only client that the primary pool accepts', async (t) => {
  const ok = await handshake({ servername: 'localhost', maxVersion: 'TLSv1.2' });
  t.equal(ok.getProtocol(), 'TLSv1.2', 'primary pool accepts TLS 1.2');
  ok.destroy();

  await t.rejects(handshake({ servername: 'strict.test', maxVersion: 'TLSv1.2' }), 'strict pool refuses TLS 1.2');
  const failed = await h.waitForLog((l) => l.msg === 'TLS handshake failed' && l.pool === 'strict');
  t.ok(failed.code, 'the failure is logged with its code');

  const strict = await handshake({ servername: 'strict.test' });
  t.equal(strict.getProtocol(), 'TLSv1.3', 'strict pool accepts TLS 1.3');
  strict.destroy();
});
