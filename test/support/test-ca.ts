// A throwaway CA and client certificates signed by it, for mutual-TLS tests (openssl CLI).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  dir: string;
  certFile: string;
  keyFile: string;
  cert: string;
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export function makeTestCa(name = 'Weaver Test CA'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'weaver-test-ca-'));
  const certFile = join(dir, 'ca.pem');
  const keyFile = join(dir, 'ca-key.pem');
  openssl(['req', '-x509', ...ec, '-subj', `/CN=${name}`, '-days', '2', '-keyout', keyFile, '-out', certFile,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return { dir, certFile, keyFile, cert: readFileSync(certFile, 'utf8') };
}

/** A client certificate for `cn`, signed by `ca`. */
export function makeClientCert(ca: TestCa, cn: string): { cert: string; key: string } {
  const key = join(ca.dir, `${cn}-key.pem`);
  const csr = join(ca.dir, `${cn}.csr`);
  const cert = join(ca.dir, `${cn}.pem`);
  openssl(['req', '-new', ...ec, '-subj', `/CN=${cn}`, '-keyout', key, '-out', csr]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-days', '2', '-out', cert]);
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}
