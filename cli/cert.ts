// `weaver cert --host NAME …`: a self-signed certificate and key for development and tests,
// e.g. to give a files entry in the config, or to hand to a client as its CA.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CertificateError } from '../proxy/errors.ts';
import { makeCertificate, MAX_DAYS } from '../proxy/tls/dev-cert.ts';
import { writeCertificatePair } from '../proxy/tls/write-pair.ts';

const usage = `usage: weaver cert --host NAME [--host NAME…] [--out DIR] [--days N]
  --host NAME   DNS name or IP address the certificate is for (repeatable, required)
  --out DIR     where cert.pem and key.pem are written (default: .)
  --days N      validity in days, 1 to ${MAX_DAYS} (default: 30)
`;

interface CertArgs {
  hosts: string[];
  out: string;
  days: number;
}

function parse(args: string[]): CertArgs | number {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string', multiple: true },
      out: { type: 'string', default: '.' },
      days: { type: 'string', default: '30' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (!values.host || values.host.length === 0) throw new Error('--host is required');
  const days = Number(values.days);
  if (!/^\d+$/.test(values.days) || days < 1 || days > MAX_DAYS) {
    throw new Error(`--days must be a whole number from 1 to ${MAX_DAYS}, got ${JSON.stringify(values.days)}`);
  }
  return { hosts: values.host, out: values.out, days };
}

export async function certCommand(args: string[]): Promise<number> {
  let parsed: CertArgs | number;
  try {
    parsed = parse(args);
  } catch (err) {
    process.stderr.write(`weaver cert: ${(err as Error).message}\n${usage}`);
    return 2;
  }
  if (typeof parsed === 'number') return parsed;
  const dir = resolve(parsed.out);
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  try {
    const pair = await makeCertificate({ hosts: parsed.hosts, days: parsed.days });
    await writeCertificatePair(dir, { certFile, keyFile }, pair);
  } catch (err) {
    if (!(err instanceof CertificateError) && (err as NodeJS.ErrnoException).code === undefined) throw err;
    process.stderr.write(`weaver cert: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(
    `wrote ${certFile}\n  and ${keyFile} (mode 0600)\n` +
      `  for ${parsed.hosts.join(', ')}, valid ${parsed.days} day${parsed.days === 1 ? '' : 's'}\n`,
  );
  return 0;
}
