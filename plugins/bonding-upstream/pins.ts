// Certificate pins: SHA-256 fingerprints of the peer's DER certificate. Both roles pin their
// peer; no CA is consulted, so a self-signed certificate per Weaver is all it takes.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PeerCertificate, TLSSocket } from 'node:tls';

/** `ab:cd:…`, `ABCD…` → `ABCD…` */
export function normalizePin(pin: string): string {
  return pin.replaceAll(':', '').toUpperCase();
}

function fingerprintOfFile(file: string): string {
  return normalizePin(new X509Certificate(readFileSync(file)).fingerprint256);
}

/** Pins given as text and as certificate files, normalized. */
export function collectPins(pins: readonly string[], files: readonly string[], baseDir: string): Set<string> {
  const out = new Set(pins.map(normalizePin));
  for (const f of files) out.add(fingerprintOfFile(resolve(baseDir, f)));
  return out;
}

/** The normalized fingerprint of the certificate the other side of `socket` showed, if any. */
export function peerFingerprint(socket: TLSSocket): string | undefined {
  const cert = socket.getPeerCertificate() as PeerCertificate | Record<string, never>;
  const fp = (cert as PeerCertificate).fingerprint256;
  return typeof fp === 'string' && fp !== '' ? normalizePin(fp) : undefined;
}

export function readPem(file: string, baseDir: string): Buffer {
  return readFileSync(resolve(baseDir, file));
}
