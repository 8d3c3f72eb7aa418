// JA3 hashes of benign software, to catch a JA3 blocklist entry that would also block a browser
// or a common library (abuse.ch SSLBL lists JA3s of malware that some Chrome, Java and Tor
// builds share). Read formats, recognised from the content:
//   - salesforce CSV         `ja3_md5,"application"` after a quoted copyright header
//   - trisul JSON lines      `{desc, ja3_hash}`; rows whose desc names malware are left out
//   - Lee Brotherston JSONL  ClientHello parameter sets; the JA3 is computed from them
//   - plain                  `ja3_md5[,name]`
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isGrease } from 'weaver';
import { parseJsonObject } from '../json-object.ts';
import type { FeedEntry } from './entries.ts';

/** The list shipped with the plugin (BSD-3-Clause, see data/README.md); always used. */
export const BUNDLED_BENIGN_JA3 = fileURLToPath(new URL('./data/salesforce-osx-nix-ja3.csv', import.meta.url));

const NOT_BENIGN = /malware|exploit|trojan|\bc2\b|botnet|ransom|stealer|loader|\brat\b|cobalt|dridex|trickbot|emotet/i;
const JA3 = /^[0-9a-f]{32}$/;

export interface Ja3Collision {
  ja3: string;
  /** What the feed lists it as ("Dridex"). */
  listed: string;
  /** The benign software that shares it. */
  benign: string;
}

/** JA3 → the first benign name given for it, over all files. */
export function loadBenignJa3(files: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of files) {
    for (const [ja3, name] of benignRows(readFileSync(file, 'utf8'))) {
      if (JA3.test(ja3) && !NOT_BENIGN.test(name) && !out.has(ja3)) out.set(ja3, name);
    }
  }
  return out;
}

export function ja3Collisions(entries: readonly FeedEntry[], benign: ReadonlyMap<string, string>): Ja3Collision[] {
  const out: Ja3Collision[] = [];
  for (const e of entries) {
    if (e.kind !== 'ja3') continue;
    const name = benign.get(e.ja3);
    if (name !== undefined) out.push({ ja3: e.ja3, listed: e.note ?? 'listed', benign: name });
  }
  return out;
}

function* benignRows(text: string): Generator<[string, string]> {
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('{')) {
      const row = parseJsonObject(line);
      if (typeof row === 'string') continue;
      const desc = typeof row.desc === 'string' ? row.desc : '';
      if (typeof row.ja3_hash === 'string') yield [row.ja3_hash.toLowerCase(), desc];
      else if (typeof row.ciphersuite === 'string') yield [ja3FromParameters(row), desc];
      continue;
    }
    const m = /^([0-9a-fA-F]{32})\s*(?:,\s*"?([^"]*)"?)?/.exec(line);
    if (m) yield [m[1]!.toLowerCase(), m[2]?.trim() || 'benign'];
  }
}

/** JA3 of a Lee Brotherston parameter set: version,ciphers,extensions,groups,point formats in decimal, GREASE left out. */
function ja3FromParameters(row: Record<string, unknown>): string {
  const list = (v: unknown): string =>
    String(v ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((h) => parseInt(h, 16))
      .filter((n) => !isGrease(n))
      .join('-');
  const fields = [parseInt(String(row.tls_version), 16), list(row.ciphersuite), list(row.extensions), list(row.e_curves), list(row.ec_point_fmt)];
  return createHash('md5').update(fields.join(',')).digest('hex');
}
