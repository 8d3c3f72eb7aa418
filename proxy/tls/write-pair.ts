import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';

// Written under a temporary name and renamed, so a reader never sees half a file, and the key
// is never readable by others, not even for a moment.
async function writeAtomically(file: string, data: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data, { mode });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Writes the key (mode 0600) before the certificate (0644); `dirMode` applies to a new dir. */
export async function writeCertificatePair(
  dir: string,
  files: { certFile: string; keyFile: string },
  pair: { certPem: string; keyPem: string },
  dirMode = 0o755,
): Promise<void> {
  await mkdir(dir, { recursive: true, mode: dirMode });
  await writeAtomically(files.keyFile, pair.keyPem, 0o600);
  await writeAtomically(files.certFile, pair.certPem, 0o644);
}
