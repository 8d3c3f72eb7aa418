// The one place @peculiar/x509 is imported: its DI container (tsyringe) needs the Reflect metadata polyfill loaded before it and a
// WebCrypto provider set, which node:crypto supplies.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
