// Development certificates: self-signed ECDSA P-256, made on first run and kept in stateDir so
// that a browser exception or a trusted copy keeps working across restarts.
import { webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CertificateError } from '../errors.ts';
import { isCertificateHost, isIpAddress, normalizeHost } from './host-names.ts';
import { keyMatchesCertificate } from './key-match.ts';
import { writeCertificatePair } from './write-pair.ts';
import { x509 } from './x509.ts';

/** Browsers refuse server certificates valid for longer than 398 days. */
export const MAX_DAYS = 397;
const DAY_MS = 86_400_000;
// Clients whose clock runs a little behind still accept a certificate made a moment ago.
const BACKDATE_MS = 5 * 60_000;
// A dev certificate this close to expiry is replaced rather than reused.
const RENEW_BEFORE_MS = DAY_MS;

export interface CertificatePair {
  certPem: string;
  keyPem: string;
}

export interface DevCertificate extends CertificatePair {
  certFile: string;
  keyFile: string;
  /** False when the cached pair was reused. */
  created: boolean;
}

export interface MakeCertificateOptions {
  /** DNS names (`*.` wildcards allowed) and IP addresses; the first one is also the subject CN. */
  hosts: string[];
  /** Days of validity, 1 to 397. */
  days: number;
  /** Start of validity; defaults to now. Lets tests make certificates that already expired. */
  validFrom?: Date;
}

function normalizedHosts(hosts: string[]): string[] {
  if (hosts.length === 0) throw new CertificateError('a certificate needs at least one host name');
  for (const host of hosts) {
    if (!isCertificateHost(host)) throw new CertificateError(`not a DNS name or IP address: ${JSON.stringify(host)}`);
  }
  return [...new Set(hosts.map(normalizeHost))];
}

/** A self-signed server certificate and its PKCS#8 key, both PEM. */
export async function makeCertificate(options: MakeCertificateOptions): Promise<CertificatePair> {
  const { days } = options;
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    throw new CertificateError(`days must be a whole number from 1 to ${MAX_DAYS}, got ${days}`);
  }
  const hosts = normalizedHosts(options.hosts);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const start = options.validFrom?.getTime() ?? Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: [hosts[0]!] }],
    notBefore: new Date(start - BACKDATE_MS),
    notAfter: new Date(start + days * DAY_MS),
    signingAlgorithm: algorithm,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        hosts.map((host) => ({ type: isIpAddress(host) ? 'ip' : 'dns', value: host })),
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { certPem: `${cert.toString('pem')}\n`, keyPem: `${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n` };
}

/** The names (DNS and IP) a certificate is valid for, normalized. */
export function certificateNames(cert: InstanceType<typeof x509.X509Certificate>): string[] {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.items.filter((n) => n.type === 'dns' || n.type === 'ip').map((n) => normalizeHost(n.value));
  return names ?? [];
}

type Reuse = { reuse: true } | { reuse: false; keepHosts: string[] };

function check(pair: CertificatePair, hosts: string[]): Reuse {
  let cert: InstanceType<typeof x509.X509Certificate>;
  try {
    cert = new x509.X509Certificate(pair.certPem);
    // A crash between writing the key and the certificate leaves a mismatched pair.
    if (!keyMatchesCertificate(pair.keyPem, pair.certPem)) return { reuse: false, keepHosts: [] };
  } catch {
    return { reuse: false, keepHosts: [] };
  }
  if (cert.notAfter.getTime() - Date.now() <= RENEW_BEFORE_MS) return { reuse: false, keepHosts: [] };
  const names = certificateNames(cert);
  if (hosts.every((h) => names.includes(h))) return { reuse: true };
  // Still good but missing a host: the new one keeps the old names too, so that two pools
  // asking for different hosts settle on one certificate instead of remaking it in turn.
  return { reuse: false, keepHosts: names };
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CertificateError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The development certificate cached in `stateDir` (dev-cert.pem, dev-key.pem), reused while it
 * covers every host and has more than a day left, else made anew (keeping the names of a cached
 * one that was only missing hosts).
 */
export async function ensureDevCertificate(stateDir: string, hosts: string[]): Promise<DevCertificate> {
  const wanted = normalizedHosts(hosts);
  const certFile = join(stateDir, 'dev-cert.pem');
  const keyFile = join(stateDir, 'dev-key.pem');
  const [certPem, keyPem] = await Promise.all([readIfPresent(certFile), readIfPresent(keyFile)]);
  const cached = certPem !== undefined && keyPem !== undefined ? check({ certPem, keyPem }, wanted) : undefined;
  if (cached?.reuse) return { certPem: certPem!, keyPem: keyPem!, certFile, keyFile, created: false };
  const keep = cached?.keepHosts ?? [];
  const pair = await makeCertificate({ hosts: [...new Set([...wanted, ...keep])], days: MAX_DAYS });
  try {
    await writeCertificatePair(stateDir, { certFile, keyFile }, pair, 0o700);
  } catch (err) {
    throw new CertificateError(`cannot write the development certificate to ${stateDir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return { ...pair, certFile, keyFile, created: true };
}
