// JA3 (Salesforce, 2017): md5 of "version,ciphers,extensions,groups,point formats", decimal
// values joined by '-', GREASE dropped. Extension order is kept, which is why Chrome's per-
// connection extension shuffling gives it a new JA3 on every connection.
import { hash } from 'node:crypto';
import { withoutGrease } from './grease.ts';
import type { ClientHello } from './types.ts';

export function ja3String(hello: ClientHello): string {
  return [
    String(hello.helloVersion),
    withoutGrease(hello.ciphers).join('-'),
    withoutGrease(hello.extensionTypes).join('-'),
    withoutGrease(hello.supportedGroups).join('-'),
    hello.ecPointFormats.join('-'),
  ].join(',');
}

export function ja3(hello: ClientHello): { ja3: string; ja3_string: string } {
  const s = ja3String(hello);
  return { ja3: hash('md5', s, 'hex'), ja3_string: s };
}
