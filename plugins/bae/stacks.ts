// What kind of TLS stack sent a hello, from its shape, and what a User-Agent claims to be.
// Browsers send GREASE (Chrome, Edge, Safari, Opera…), Chromium's ALPS or certificate
// compression, or Firefox's extension set
// (record_size_limit + delegated_credentials); the libraries and tools (OpenSSL, curl, Node,
// Python, Go, Java…) send neither. A known JA4 with a browser's name settles it.
import { isGrease, TLS_EXTENSION as EXT, type ClientHello } from 'weaver';

export type StackClass = 'browser' | 'library';

export function stackClass(hello: ClientHello, knownApp: string | undefined): StackClass {
  if (knownApp !== undefined) return BROWSER_NAME.test(knownApp) ? 'browser' : 'library';
  const types = hello.extensionTypes;
  const grease = hello.ciphers.some(isGrease) || types.some(isGrease);
  // GREASE is a BoringSSL/Apple habit that OpenSSL, Go, Java, NSS-without-browser and the
  // scripting runtimes do not have; ALPS and compress_certificate say Chromium even without it.
  if (grease || types.includes(EXT.alps) || types.includes(EXT.alpsNew) || types.includes(EXT.compressCertificate)) return 'browser';
  if (types.includes(EXT.recordSizeLimit) && types.includes(EXT.delegatedCredentials)) return 'browser';
  return 'library';
}

export const BROWSER_NAME = /chrom|firefox|safari|edge|opera|brave|samsung internet|vivaldi|tor browser|yandex/i;

/** What a User-Agent says it is: a browser, a named tool/library, a crawler, or nothing. */
export type UaClass = 'browser' | 'tool' | 'bot' | 'none';

const UA_BOT = /bot\b|crawler|spider|headless|phantomjs|puppeteer|playwright|selenium/i;
const UA_BROWSER = /^Mozilla\/5\.0 .*(Chrome\/|Firefox\/|Safari\/|Edg\/|OPR\/)/;

export function uaClass(ua: string | undefined): UaClass {
  if (!ua) return 'none';
  if (UA_BOT.test(ua)) return 'bot';
  if (UA_BROWSER.test(ua)) return 'browser';
  return 'tool';
}

// Cipher suites no current client offers: NULL, EXPORT, anonymous, RC4, DES/3DES, IDEA, and
// the SSLv3-era oddities. A hello offering several of them is a scanner enumerating suites.
const WEAK_RANGES: Array<[number, number]> = [
  [0x0000, 0x001b], // NULL, EXPORT, RC4, DES, 3DES, anon (SSLv3/TLS 1.0 era)
  [0x002c, 0x002e], // PSK with NULL
  [0x0034, 0x0034], // DH_anon AES128
  [0x003a, 0x003b], // DH_anon AES256, NULL SHA256
  [0x0046, 0x0046], // DH_anon Camellia
  [0x006c, 0x006d], // DH_anon SHA256
  [0x0089, 0x0089], // DH_anon Camellia256
  [0x008a, 0x008b], // PSK RC4, 3DES
  [0x008e, 0x008f], // DHE_PSK RC4, 3DES
  [0x0092, 0x0093], // RSA_PSK RC4, 3DES
  [0x00b0, 0x00b1], // PSK NULL
  [0xc001, 0xc002], // ECDH_ECDSA NULL, RC4
  [0xc006, 0xc007], // ECDHE_ECDSA NULL, RC4
  [0xc00b, 0xc00c], // ECDH_RSA NULL, RC4
  [0xc010, 0xc011], // ECDHE_RSA NULL, RC4
  [0xc015, 0xc019], // ECDH_anon
];

export function isWeakCipher(c: number): boolean {
  for (const [lo, hi] of WEAK_RANGES) if (c >= lo && c <= hi) return true;
  return false;
}
