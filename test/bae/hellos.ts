// ClientHellos for the bae tests and the evaluation: real captures with a fresh random, browser
// signatures (Chrome's extension order permuted per connection), hellos rebuilt from a JA3
// string (for listed malware), and a scanner's "every suite" hello.
import { randomBytes } from 'node:crypto';
import { buildClientHello, ext, type HelloExtension } from '../support/hello-builder.ts';
import { loadBrowserSignature, permuteExtensions } from '../support/browser-hello.ts';
import { referenceHellos } from '../support/reference-hellos.ts';

/** Offset of the client random in a hello sent as one record: record header 5, handshake header 4, version 2. */
const RANDOM_AT = 11;

export interface LibraryHello {
  id: string;
  client: string;
  bytes: Buffer;
}

/** The real single-record captures of shared/data/tls/clienthellos.json. */
export function libraryHellos(): LibraryHello[] {
  return referenceHellos()
    .filter((h) => h.transport === 'tcp' && h.recordCount === 1)
    .map((h) => ({ id: h.id, client: h.client, bytes: Buffer.from(h.clientHelloHex, 'hex') }));
}

/** A copy of a single-record hello with a new client random (fresh unless given). */
export function withRandom(hello: Buffer, random: Buffer = randomBytes(32)): Buffer {
  const copy = Buffer.from(hello);
  random.copy(copy, RANDOM_AT);
  return copy;
}

/** A browser's hello from its signature file, extensions permuted by `seed` (Chrome does so). */
export function browserHello(file: string, seed: number, random: Buffer = randomBytes(32)): Buffer {
  const sig = loadBrowserSignature(file, 'localhost');
  const spec = /chrome|edge/i.test(file) ? permuteExtensions(sig.spec, seed) : sig.spec;
  return buildClientHello({ ...spec, random, sessionId: randomBytes(32) });
}

const SIGALGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601, 0x0201];

/** A hello whose JA3 string is `ja3` ("771,ciphers,extensions,curves,pointformats"). */
export function helloFromJa3(ja3: string, random: Buffer = randomBytes(32)): Buffer {
  const [version, ciphers, extensions, curves, formats] = ja3.split(',');
  const list = (s: string | undefined): number[] => (s ? s.split('-').filter(Boolean).map(Number) : []);
  const groups = list(curves);
  const exts: HelloExtension[] = list(extensions).map((type) => {
    switch (type) {
      case 0:
        return ext.serverName('localhost');
      case 10:
        return ext.supportedGroups(groups);
      case 11:
        return ext.ecPointFormats(list(formats));
      case 13:
        return ext.signatureAlgorithms(SIGALGS);
      case 16:
        return ext.alpn(['http/1.1']);
      case 43:
        return ext.supportedVersions([0x0304, 0x0303]);
      case 45:
        return ext.pskKeyExchangeModes([1]);
      case 51:
        return ext.keyShare([{ group: groups[0] ?? 0x001d, length: 32 }]);
      case 65281:
        return ext.raw(type, [0]);
      default:
        return ext.raw(type);
    }
  });
  return buildClientHello({ helloVersion: Number(version), random, sessionId: randomBytes(32), ciphers: list(ciphers), extensions: exts });
}

/** What sslscan/nmap-style enumeration sends: every suite there is, old and weak ones first. */
export function scannerHello(random: Buffer = randomBytes(32)): Buffer {
  const ciphers: number[] = [];
  for (let c = 0x0001; c <= 0x00c5; c++) ciphers.push(c);
  for (let c = 0xc001; c <= 0xc032; c++) ciphers.push(c);
  ciphers.push(0x1301, 0x1302, 0x1303, 0x00ff);
  return buildClientHello({
    random,
    sessionId: Buffer.alloc(0),
    ciphers,
    extensions: [ext.serverName('localhost'), ext.supportedGroups([0x0017, 0x0018, 0x0019, 0x001d]), ext.ecPointFormats([0]), ext.signatureAlgorithms(SIGALGS)],
  });
}

/** A home-made client stack, on no list: what a bot farm's TLS library might send. */
export function botHello(random: Buffer = randomBytes(32)): Buffer {
  return buildClientHello({
    random,
    sessionId: randomBytes(32),
    ciphers: [0x1302, 0x1301, 0xc02c, 0xc030, 0xc02b, 0xc02f, 0x009f, 0x009e],
    extensions: [
      ext.serverName('localhost'),
      ext.supportedGroups([0x001d, 0x0017]),
      ext.signatureAlgorithms([0x0804, 0x0403, 0x0401]),
      ext.supportedVersions([0x0304, 0x0303]),
      ext.keyShare([{ group: 0x001d, length: 32 }]),
      ext.pskKeyExchangeModes([1]),
    ],
  });
}
