import { createPrivateKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CertificateError } from '../../proxy/errors.ts';
import { CertificateEntryError, loadCertificates } from '../../proxy/tls/certificates.ts';
import { makeCertificate } from '../../proxy/tls/dev-cert.ts';
import { handshake, listen, tempDir, writePair } from './helpers.ts';

const DAY = 86_400_000;
const siteA = await makeCertificate({ hosts: ['a.example', '*.wild.example'], days: 30 });
const siteB = await makeCertificate({ hosts: ['b.example', 'shared.example'], days: 30 });

async function failure(promise: Promise<unknown>): Promise<CertificateEntryError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof CertificateEntryError)) throw new Error(`expected a CertificateEntryError, got ${String(err)}`);
  return err;
}

t.test('each kind of bad file is named in a clear error', async (t) => {
  const dir = tempDir(t);
  const a = writePair(dir, 'a', siteA);
  const b = writePair(dir, 'b', siteB);
  const opts = { stateDir: join(dir, 'state'), contextOptions: {} };
  const load = (cert: string, key: string) => loadCertificates([{ cert: a.cert, key: a.key }, { cert, key }], opts);

  const missing = await failure(load(join(dir, 'none.pem'), a.key));
  t.equal(missing.entry, 1);
  t.ok(missing instanceof CertificateError);
  t.equal(missing.code, 'WEAVER_ERR_CERTIFICATE');
  t.equal(missing.message, `certificate file ${join(dir, 'none.pem')} does not exist`);
  t.equal((await failure(load(a.cert, join(dir, 'none.key')))).message, `key file ${join(dir, 'none.key')} does not exist`);

  const garbage = join(dir, 'garbage.pem');
  writeFileSync(garbage, 'this is not a certificate\n');
  t.equal((await failure(load(garbage, a.key))).message, `${garbage} contains no PEM certificate (no "-----BEGIN CERTIFICATE-----" block)`);

  const broken = join(dir, 'broken.pem');
  writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  t.match((await failure(load(broken, a.key))).message, `cannot parse the certificate in ${broken}: `);

  t.match((await failure(load(a.cert, garbage))).message, `cannot parse the private key in ${garbage}: `);

  t.equal(
    (await failure(load(a.cert, b.key))).message,
    `the private key in ${b.key} does not match the certificate in ${a.cert}`,
  );

  const encrypted = join(dir, 'encrypted.key');
  writeFileSync(
    encrypted,
    createPrivateKey(siteA.keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }),
  );
  t.match((await failure(load(a.cert, encrypted))).message, `the private key in ${encrypted} is encrypted`);
});

t.test('an expired certificate is an error', async (t) => {
  const dir = tempDir(t);
  const old = await makeCertificate({ hosts: ['old.example'], days: 2, validFrom: new Date(Date.now() - 10 * DAY) });
  const files = writePair(dir, 'old', old);
  const err = await failure(loadCertificates([files], { stateDir: dir, contextOptions: {} }));
  t.equal(err.entry, 0);
  t.match(err.message, new RegExp(`^the certificate in ${files.cert} expired on \\d{4}-\\d\\d-\\d\\dT`));
});

t.test('invalid shared TLS settings are reported as such', async (t) => {
  const dir = tempDir(t);
  const err = await loadCertificates([writePair(dir, 'a', siteA)], {
    stateDir: dir,
    contextOptions: { ciphers: 'NO-SUCH-CIPHER' },
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof CertificateError && !(err instanceof CertificateEntryError));
  t.match((err as Error).message, /^invalid TLS settings: /);
});

t.test('hosts come from the certificate unless given; lookup by SNI', async (t) => {
  const dir = tempDir(t);
  const a = writePair(dir, 'a', siteA);
  const b = writePair(dir, 'b', siteB);
  const store = await loadCertificates(
    [
      { ...a },
      { ...b, hosts: ['b.example', 'SHARED.example', '*.b.example'] },
      { ...a, hosts: ['shared.example', 'other.example'] },
    ],
    { stateDir: dir, contextOptions: {} },
  );
  t.same(store.entries.map((e) => e.hosts), [
    ['a.example', '*.wild.example'],
    ['b.example', 'shared.example', '*.b.example'],
    ['shared.example', 'other.example'],
  ]);
  t.equal(store.entries[0]!.subject, 'CN=a.example');
  t.equal(store.entries[0]!.dev, false);
  t.ok(store.entries[0]!.notAfter.getTime() > Date.now() + 29 * DAY);
  t.equal(store.defaultCredentials.key, siteA.keyPem);

  const ctxA = store.lookup('a.example');
  const ctxB = store.lookup('b.example');
  t.ok(ctxA && ctxB && ctxA !== ctxB);
  t.equal(store.defaultContext, ctxA, 'the first entry is the default');
  t.equal(store.lookup('A.Example.'), ctxA, 'case and a trailing dot do not matter');
  t.equal(store.lookup('x.wild.example'), ctxA, 'a wildcard matches one label');
  t.equal(store.lookup('x.y.wild.example'), undefined, 'but not two');
  t.equal(store.lookup('wild.example'), undefined, 'nor none');
  t.equal(store.lookup('www.b.example'), ctxB);
  t.equal(store.lookup('shared.example'), ctxB, 'the first entry naming a host wins');
  t.ok(store.lookup('other.example'));
  t.equal(store.lookup('nobody.example'), undefined);
});

t.test('a real handshake gets the certificate its SNI names', async (t) => {
  const dir = tempDir(t);
  const store = await loadCertificates([writePair(dir, 'a', siteA), writePair(dir, 'b', siteB)], {
    stateDir: dir,
    contextOptions: { minVersion: 'TLSv1.2' },
  });
  const port = await listen(t, {
    ...store.defaultCredentials,
    SNICallback: (name, cb) => cb(null, store.lookup(name) ?? store.defaultContext),
  });
  const ca = siteA.certPem + siteB.certPem;
  t.equal((await handshake(port, 'b.example', ca)).subject.CN, 'b.example');
  t.equal((await handshake(port, 'x.wild.example', ca)).subject.CN, 'a.example');
  t.equal((await handshake(port, 'unknown.example', ca).catch((e: NodeJS.ErrnoException) => e.code)), 'ERR_TLS_CERT_ALTNAME_INVALID');
});

t.test('dev entries share one cached development certificate', async (t) => {
  const dir = tempDir(t);
  const stateDir = join(dir, 'state');
  const store = await loadCertificates(
    [
      { dev: true, hosts: ['localhost', '127.0.0.1'] },
      { dev: true, hosts: ['app.test'] },
    ],
    { stateDir, contextOptions: {} },
  );
  t.same(store.entries.map((e) => [e.dev, e.hosts]), [
    [true, ['localhost', '127.0.0.1']],
    [true, ['app.test']],
  ]);
  t.equal(store.entries[0]!.subject, 'CN=localhost');
  const port = await listen(t, { ...store.defaultCredentials });
  const cert = await handshake(port, 'app.test', store.defaultCredentials.cert);
  t.equal(cert.subjectaltname, 'DNS:localhost, IP Address:127.0.0.1, DNS:app.test');
});
