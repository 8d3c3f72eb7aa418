// Every fingerprint the core computes for a ClientHello, in one object for plugins and logs.
import { ja3 } from './ja3.ts';
import { ja4 } from './ja4.ts';
import type { ClientHello, Fingerprints } from './types.ts';

export function fingerprints(hello: ClientHello): Fingerprints {
  return { ...ja3(hello), ...ja4(hello) };
}
