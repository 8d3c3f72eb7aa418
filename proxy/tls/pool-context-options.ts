// The TLS settings of a local pool as node's SecureContextOptions, shared by every context the
// pool makes.
import { readFile } from 'node:fs/promises';
import type tls from 'node:tls';
import { CertificateError } from '../errors.ts';
import type { LocalPoolConfig } from '../config/schema.ts';

export async function poolContextOptions(pool: LocalPoolConfig): Promise<tls.SecureContextOptions> {
  const options: tls.SecureContextOptions = {};
  if (pool.minVersion) options.minVersion = pool.minVersion;
  if (pool.maxVersion) options.maxVersion = pool.maxVersion;
  if (pool.ciphers) options.ciphers = pool.ciphers;
  if (pool.groups) options.ecdhCurve = pool.groups;
  if (pool.clientCa) {
    let ca: string;
    try {
      ca = await readFile(pool.clientCa, 'utf8');
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      const reason = missing ? 'does not exist' : `cannot be read: ${(err as Error).message}`;
      throw new CertificateError(`client CA file ${pool.clientCa} ${reason}`, { cause: err });
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
      throw new CertificateError(`client CA file ${pool.clientCa} contains no PEM certificate`);
    }
    options.ca = ca;
  }
  return options;
}
