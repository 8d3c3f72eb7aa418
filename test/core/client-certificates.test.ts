// Client certificates: a pool that requires one refuses a client without it and hands a verified
// one to onHandshakeDone; a pool that only requests one lets both in and says which is which.
import t from 'tap';
import tls from 'node:tls';
import { request } from 'undici';
import { makeClientCert, makeTestCa } from '../support/test-ca.ts';
import { startWeaver, repoRoot } from '../support/weaver-harness.ts';

const ca = makeTestCa();
const alice = makeClientCert(ca, 'alice');
const stranger = makeClientCert(makeTestCa('Other CA'), 'mallory');

const h = await startWeaver(`
listeners: [{ name: https, port: 0 }]
handshakePools:
  primary:
    kind: local
    certificates: [{ dev: true, hosts: [localhost, mtls.test, optional.test] }]
  mtls:
    kind: local
    certificates: [{ dev: true, hosts: [localhost, mtls.test, optional.test] }]
    clientCertificate: require
    clientCa: ${ca.certFile}
  optional:
    kind: local
    certificates: [{ dev: true, hosts: [localhost, mtls.test, optional.test] }]
    clientCertificate: request
    clientCa: ${ca.certFile}
plugins:
  - use: ${repoRoot}test/fixtures/plugins/sni-router.ts
    options: { routes: { mtls.test: mtls, optional.test: optional } }
  - use: ${repoRoot}test/fixtures/plugins/handshake-capture.ts
admin: { port: 0 }
`);
t.teardown(() => h.stop());

function connect(servername: string, client?: { cert: string; key: string }): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: h.port, servername, rejectUnauthorized: false, ...client }, () => {
      // TLS 1.3 reports a refused client certificate after the handshake: give it a moment.
      s.once('error', reject);
      setTimeout(() => (s.destroyed ? reject(new Error('closed')) : resolve(s)), 100);
    });
    s.once('error', reject);
    s.once('close', () => reject(new Error('closed')));
  });
}

async function lastSeen(): Promise<Record<string, unknown> & { clientCertificate?: Record<string, unknown> }> {
  const all = (await (await request(`http://127.0.0.1:${h.adminPort}/api/plugins/handshake-capture/seen`)).body.json()) as Array<
    Record<string, unknown>
  >;
  return all.at(-1)!;
}

t.test('require: no certificate, or one from another CA, is refused', async (t) => {
  await t.rejects(connect('mtls.test'), 'no client certificate');
  await t.rejects(connect('mtls.test', stranger), 'a certificate from another CA');
});

t.test('require: a certificate from the CA gets in and reaches onHandshakeDone', async (t) => {
  const s = await connect('mtls.test', alice);
  s.destroy();
  const seen = await lastSeen();
  t.equal(seen.pool, 'mtls');
  t.match(seen.clientCertificate, { subject: 'CN=alice', issuer: 'CN=Weaver Test CA', authorized: true });
});

t.test('request: clients with and without a certificate both get in, told apart', async (t) => {
  (await connect('optional.test')).destroy();
  t.equal((await lastSeen()).clientCertificate, undefined, 'no certificate offered');
  (await connect('optional.test', stranger)).destroy();
  t.match((await lastSeen()).clientCertificate, { subject: 'CN=mallory', authorized: false }, 'unverified certificate is reported as such');
});
