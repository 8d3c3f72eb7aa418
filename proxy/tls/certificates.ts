// The certificates of one local handshake pool: a secure context per entry, chosen by SNI.
// Every problem a file can have is found here, at load time, and named with the file, instead
// of surfacing later as a handshake that fails for every client.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import { CertificateError } from '../errors.ts';
import type { CertificateConfig } from '../config/schema.ts';
import { certificateNames, ensureDevCertificate } from './dev-cert.ts';
import { normalizeHost } from './host-names.ts';
import { keyMatchesCertificate } from './key-match.ts';
import { x509 } from './x509.ts';

export interface CertificateInfo {
  hosts: string[];
  notAfter: Date;
  subject: string;
  dev: boolean;
}

export interface CertificateStore {
  /** The first entry's context: for no SNI, and for unknown SNI unless the pool rejects it. */
  defaultContext: tls.SecureContext;
  /** Exact name first, then a one-label `*.` wildcard; case-insensitive, trailing dot ignored. */
  lookup(servername: string): tls.SecureContext | undefined;
  entries: CertificateInfo[];
  /** The options every context was made with, for a tls.Server's own settings. */
  contextOptions: tls.SecureContextOptions;
  /** The first entry's PEM certificate chain and key. */
  defaultCredentials: { cert: string; key: string };
}

export interface LoadCertificatesOptions {
  /** Where development certificates are cached. */
  stateDir: string;
  /** Applied to every context: minVersion, ciphers, ecdhCurve, ca, … */
  contextOptions: tls.SecureContextOptions;
}

/** A problem with one entry of the list; `entry` is its index, for pointing at the config. */
export class CertificateEntryError extends CertificateError {
  readonly entry: number;
  constructor(entry: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CertificateEntryError';
    this.entry = entry;
  }
}

interface Loaded {
  info: CertificateInfo;
  cert: string;
  key: string;
}

const pemCertificate = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

async function readPemFile(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CertificateError(`${what} file ${file} does not exist`, { cause: err });
    if (code === 'EACCES') throw new CertificateError(`cannot read ${what} file ${file}: permission denied`, { cause: err });
    throw new CertificateError(`cannot read ${what} file ${file}: ${(err as Error).message}`, { cause: err });
  }
}

function parseKey(text: string, file: string): KeyObject {
  if (text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /Proc-Type:\s*4,ENCRYPTED/.test(text)) {
    throw new CertificateError(`the private key in ${file} is encrypted; Weaver needs it unencrypted (protect it with file permissions)`);
  }
  try {
    return createPrivateKey(text);
  } catch (err) {
    throw new CertificateError(`cannot parse the private key in ${file}: ${(err as Error).message}`, { cause: err });
  }
}

async function loadFiles(entry: { cert: string; key: string; hosts?: string[] | undefined }): Promise<Loaded> {
  // One after the other, so that when both are missing the report is always about the first.
  const certText = await readPemFile(entry.cert, 'certificate');
  const keyText = await readPemFile(entry.key, 'key');
  const chain = certText.match(pemCertificate);
  if (!chain) {
    throw new CertificateError(`${entry.cert} contains no PEM certificate (no "-----BEGIN CERTIFICATE-----" block)`);
  }
  let leaf: InstanceType<typeof x509.X509Certificate>;
  try {
    leaf = new x509.X509Certificate(chain[0]!);
  } catch (err) {
    throw new CertificateError(`cannot parse the certificate in ${entry.cert}: ${(err as Error).message}`, { cause: err });
  }
  const key = parseKey(keyText, entry.key);
  if (!keyMatchesCertificate(key, chain[0]!)) {
    throw new CertificateError(`the private key in ${entry.key} does not match the certificate in ${entry.cert}`);
  }
  if (leaf.notAfter.getTime() <= Date.now()) {
    throw new CertificateError(`the certificate in ${entry.cert} expired on ${leaf.notAfter.toISOString()}`);
  }
  const hosts = entry.hosts ?? [...certificateNames(leaf), ...leaf.subjectName.getField('CN')];
  return {
    info: { hosts: unique(hosts), notAfter: leaf.notAfter, subject: leaf.subject, dev: false },
    cert: chain.join('\n'),
    key: keyText,
  };
}

function unique(hosts: string[]): string[] {
  return [...new Set(hosts.map(normalizeHost))];
}

export async function loadCertificates(
  entries: CertificateConfig[],
  opts: LoadCertificatesOptions,
): Promise<CertificateStore> {
  if (entries.length === 0) throw new CertificateError('a local handshake pool needs at least one certificate');
  try {
    tls.createSecureContext(opts.contextOptions);
  } catch (err) {
    throw new CertificateError(`invalid TLS settings: ${(err as Error).message}`, { cause: err });
  }

  // One cached dev certificate serves every dev entry, so it covers all their hosts at once.
  const devHosts = entries.flatMap((e) => ('dev' in e ? e.hosts : []));
  let dev: Promise<{ certPem: string; keyPem: string; notAfter: Date; subject: string }> | undefined;
  const devCertificate = () =>
    (dev ??= ensureDevCertificate(opts.stateDir, devHosts).then((d) => {
      const parsed = new x509.X509Certificate(d.certPem);
      return { ...d, notAfter: parsed.notAfter, subject: parsed.subject };
    }));

  const contexts: tls.SecureContext[] = [];
  const loaded: Loaded[] = [];
  for (const [i, entry] of entries.entries()) {
    try {
      let item: Loaded;
      if ('dev' in entry) {
        const d = await devCertificate();
        item = { info: { hosts: unique(entry.hosts), notAfter: d.notAfter, subject: d.subject, dev: true }, cert: d.certPem, key: d.keyPem };
      } else {
        item = await loadFiles(entry);
      }
      contexts.push(secureContext(item, entry, opts.contextOptions));
      loaded.push(item);
    } catch (err) {
      if (!(err instanceof CertificateError)) throw err;
      throw new CertificateEntryError(i, err.message, { cause: err.cause ?? err });
    }
  }

  const exact = new Map<string, tls.SecureContext>();
  const wildcard = new Map<string, tls.SecureContext>();
  loaded.forEach((item, i) => {
    for (const host of item.info.hosts) {
      const [map, name] = host.startsWith('*.') ? [wildcard, host.slice(2)] : [exact, host];
      // The first entry naming a host wins, as the list order promises.
      if (!map.has(name)) map.set(name, contexts[i]!);
    }
  });

  return {
    defaultContext: contexts[0]!,
    lookup(servername: string) {
      const name = normalizeHost(servername);
      const hit = exact.get(name);
      if (hit) return hit;
      const dot = name.indexOf('.');
      return dot > 0 ? wildcard.get(name.slice(dot + 1)) : undefined;
    },
    entries: loaded.map((l) => l.info),
    contextOptions: opts.contextOptions,
    defaultCredentials: { cert: loaded[0]!.cert, key: loaded[0]!.key },
  };
}

function secureContext(item: Loaded, entry: CertificateConfig, options: tls.SecureContextOptions): tls.SecureContext {
  try {
    return tls.createSecureContext({ ...options, cert: item.cert, key: item.key });
  } catch (err) {
    const what = 'dev' in entry ? 'the development certificate' : `the certificate in ${entry.cert}`;
    throw new CertificateError(`cannot use ${what}: ${(err as Error).message}`, { cause: err });
  }
}
