import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';

/**
 * Whether the private key belongs to the certificate. TLS would find out only at the first
 * handshake, as an opaque failure; comparing the public keys names the problem at startup.
 */
export function keyMatchesCertificate(privateKey: KeyObject | string, certPem: string): boolean {
  const fromKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const fromCert = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return fromKey.equals(fromCert);
}
