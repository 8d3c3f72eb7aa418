// The 27 real ClientHellos of shared/data/tls/clienthellos.json with their reference JA3/JA4
// (FoxIO ja4.py and tshark), for tests that must agree with those tools.
import { readFileSync } from 'node:fs';
import { sharedDataPath } from './shared-data.ts';
import type { Fingerprints } from '../../proxy/clienthello/types.ts';

export interface ReferenceHello extends Fingerprints {
  id: string;
  client: string;
  note: string;
  transport: string;
  clientHelloHex: string;
  recordCount: number;
  sni: string | null;
  alpn: string[] | null;
}

export function referenceHellos(): ReferenceHello[] {
  return JSON.parse(readFileSync(sharedDataPath('tls/clienthellos.json'), 'utf8')) as ReferenceHello[];
}

export function referenceHello(id: string): ReferenceHello {
  const found = referenceHellos().find((h) => h.id === id);
  if (!found) throw new Error(`no reference hello ${id}`);
  return found;
}
