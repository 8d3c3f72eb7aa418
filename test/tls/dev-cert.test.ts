import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CertificateError } from '../../proxy/errors.ts';
import { ensureDevCertificate, makeCertificate } from '../../proxy/tls/dev-cert.ts';
import { x509 } from '../../proxy/tls/x509.ts';
import { tempDir } from './helpers.ts';

const DAY = 86_400_000;

t.test('made once, then reused byte for byte', async (t) => {
  const stateDir = join(tempDir(t), 'state');
  const first = await ensureDevCertificate(stateDir, ['localhost', '127.0.0.1', '::1']);
  t.equal(first.created, true);
  t.equal(first.certFile, join(stateDir, 'dev-cert.pem'));
  t.equal(statSync(first.keyFile).mode & 0o777, 0o600, 'the key is readable by its owner only');
  t.equal(readFileSync(first.certFile, 'utf8'), first.certPem);

  const second = await ensureDevCertificate(stateDir, ['LOCALHOST', '0:0:0:0:0:0:0:1']);
  t.equal(second.created, false, 'a subset of the hosts, in another spelling, is covered');
  t.equal(second.certPem, first.certPem);
  t.equal(second.keyPem, first.keyPem);
});

t.test('remade when the hosts change', async (t) => {
  const stateDir = tempDir(t);
  const first = await ensureDevCertificate(stateDir, ['localhost']);
  const second = await ensureDevCertificate(stateDir, ['localhost', 'app.test']);
  t.equal(second.created, true);
  t.not(second.certPem, first.certPem);
  t.equal(readFileSync(second.certFile, 'utf8'), second.certPem);
  const san = new x509.X509Certificate(second.certPem).getExtension(x509.SubjectAlternativeNameExtension);
  t.same(san?.names.items.map((n) => n.value), ['localhost', 'app.test']);
});

t.test('a remade certificate keeps the names of a still-valid one, so pools do not take turns', async (t) => {
  const stateDir = tempDir(t);
  await ensureDevCertificate(stateDir, ['pool-one.test']);
  const both = await ensureDevCertificate(stateDir, ['pool-two.test']);
  t.equal(both.created, true);
  const cert = new x509.X509Certificate(both.certPem);
  t.equal(cert.subject, 'CN=pool-two.test');
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  t.same(san?.names.items.map((n) => n.value), ['pool-two.test', 'pool-one.test']);
  t.equal((await ensureDevCertificate(stateDir, ['pool-one.test'])).created, false);
  t.equal((await ensureDevCertificate(stateDir, ['pool-two.test'])).created, false);
});

t.test('remade when about to expire, or when the key does not match', async (t) => {
  const stateDir = tempDir(t);
  const certFile = join(stateDir, 'dev-cert.pem');
  const keyFile = join(stateDir, 'dev-key.pem');
  const expiring = await makeCertificate({ hosts: ['localhost'], days: 1, validFrom: new Date(Date.now() - DAY / 2) });
  writeFileSync(certFile, expiring.certPem);
  writeFileSync(keyFile, expiring.keyPem);
  const renewed = await ensureDevCertificate(stateDir, ['localhost']);
  t.equal(renewed.created, true, 'less than a day left');
  t.ok(new x509.X509Certificate(renewed.certPem).notAfter.getTime() > Date.now() + 300 * DAY);

  const other = await makeCertificate({ hosts: ['localhost'], days: 30 });
  writeFileSync(keyFile, other.keyPem);
  const fixed = await ensureDevCertificate(stateDir, ['localhost']);
  t.equal(fixed.created, true, 'a mismatched pair');
  t.equal((await ensureDevCertificate(stateDir, ['localhost'])).created, false);
});

t.test('makeCertificate: a server certificate for the given names', async (t) => {
  const before = Date.now();
  const pair = await makeCertificate({ hosts: ['example.test', '*.example.test', '10.1.2.3', '::1'], days: 30 });
  t.match(pair.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  const cert = new x509.X509Certificate(pair.certPem);
  t.equal(cert.subject, 'CN=example.test');
  t.equal(cert.publicKey.algorithm.name, 'ECDSA');
  t.equal((cert.publicKey.algorithm as EcKeyAlgorithmLike).namedCurve, 'P-256');
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  t.same(san?.names.items.map((n) => [n.type, n.value]), [
    ['dns', 'example.test'],
    ['dns', '*.example.test'],
    ['ip', '10.1.2.3'],
    ['ip', '::1'],
  ]);
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  t.equal(basic?.ca, false);
  t.equal(cert.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature);
  t.same(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages, [x509.ExtendedKeyUsage.serverAuth]);
  const days = (cert.notAfter.getTime() - before) / DAY;
  t.ok(days > 29.99 && days <= 30.01, `valid for 30 days (${days})`);
  t.ok(cert.notBefore.getTime() <= before, 'valid from now');
});

interface EcKeyAlgorithmLike {
  namedCurve: string;
}

t.test('makeCertificate refuses what browsers or TLS would', async (t) => {
  await t.rejects(makeCertificate({ hosts: ['a.test'], days: 398 }), CertificateError);
  await t.rejects(makeCertificate({ hosts: ['a.test'], days: 0 }), /days must be a whole number from 1 to 397/);
  await t.rejects(makeCertificate({ hosts: [], days: 1 }), /at least one host/);
  await t.rejects(makeCertificate({ hosts: ['not a host'], days: 1 }), /not a DNS name or IP address: "not a host"/);
});
