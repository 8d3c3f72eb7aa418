// Shared by the TLS tests: temp dirs, certificate files, and a TLS server on loopback.
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import type { Test } from 'tap';
import type { CertificatePair } from '../../proxy/tls/dev-cert.ts';

export { tempDir } from '../support/temp-dir.ts';

/** Writes `NAME.pem` and `NAME.key` into dir and returns their paths. */
export function writePair(dir: string, name: string, pair: CertificatePair): { cert: string; key: string } {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  writeFileSync(cert, pair.certPem);
  writeFileSync(key, pair.keyPem, { mode: 0o600 });
  return { cert, key };
}

/** A TLS server on 127.0.0.1 that closes each connection once its handshake is done. */
export async function listen(t: Test, options: tls.TlsOptions): Promise<number> {
  const server = tls.createServer(options, (socket) => socket.end());
  // Handshake failures are what some tests expect; the client side reports them.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

/** Connects with SNI and resolves with the server's certificate, or rejects with the error. */
export function handshake(port: number, servername: string, ca: string): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.on('error', reject);
  });
}
