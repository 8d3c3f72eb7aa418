// The JA4 rules that trip implementations (shared/data/README.md), each on a hello built to
// have exactly that trait, with expected values worked out from FoxIO's JA4.md by hand.
import t from 'tap';
import { createHash } from 'node:crypto';
import { fingerprints } from '../../proxy/clienthello/fingerprints.ts';
import { parseClientHello, parseClientHelloBody } from '../../proxy/clienthello/parse.ts';
import { buildClientHello, buildHandshake, ext, frameRecords } from '../support/hello-builder.ts';
import type { HelloExtension, HelloSpec } from '../support/hello-builder.ts';
import { referenceHello } from '../support/reference-hellos.ts';

const fp = (spec: HelloSpec): ReturnType<typeof fingerprints> => fingerprints(parseClientHello(buildClientHello(spec)));
const sha12 = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 12);

t.test('a hello split over two records fingerprints like the one-record original', async (t) => {
  const ref = referenceHello('cap-002');
  const message = Buffer.from(ref.clientHelloHex, 'hex').subarray(5);
  const split = frameRecords(message, { fragments: [200] });
  const hello = parseClientHello(split);
  t.equal(split.readUInt16BE(3), 200, 'first record is 200 bytes');
  t.equal(split[5 + 200], 0x16, 'a second record header follows');
  t.same(fingerprints(hello), { ja3: ref.ja3, ja3_string: ref.ja3_string, ja4: ref.ja4, ja4_r: ref.ja4_r, ja4_o: ref.ja4_o, ja4_ro: ref.ja4_ro });
  t.equal(hello.sni, 'localhost', 'SNI from the second record');
});

t.test('TLS version: supported_versions, else the hello version', async (t) => {
  const base = { ciphers: [0x1301] };
  t.match(fp({ ...base, extensions: [ext.supportedVersions([0x0303])] }).ja4, /^t12i/, 'only 0x0303 listed is 12, not 13');
  t.match(fp({ ...base, extensions: [ext.supportedVersions([0x7a7a, 0x0303, 0x0304])] }).ja4, /^t13i/, 'highest value, GREASE ignored');
  t.match(fp({ ...base, helloVersion: 0x0303 }).ja4, /^t12i/, 'no extension: the hello version');
  t.match(fp({ ...base, helloVersion: 0x0301 }).ja4, /^t10i/);
  t.match(fp({ ...base, helloVersion: 0x0300 }).ja4, /^ts3i/, 'SSL 3.0');
  t.match(fp({ ...base, helloVersion: 0x0303, extensions: [ext.supportedVersions([0x7f1c])] }).ja4, /^t00i/, 'unknown: 00');
  t.match(fp({ ...base, helloVersion: 0x0302, extensions: [ext.supportedVersions([0x0a0a])] }).ja4, /^t11i/,
    'only GREASE listed: falls back to the hello version');
  t.equal(fp({ ...base, helloVersion: 0x0303, extensions: [ext.supportedVersions([0x0303])] }).ja3.length, 32);
  t.match(fp({ ...base, helloVersion: 0x0303, extensions: [ext.supportedVersions([0x0303])] }).ja3_string, /^771,/, 'JA3 uses the hello version');
});

t.test('ALPN: first and last character, hex when not alphanumeric', async (t) => {
  const alpn = (values: (string | Buffer)[]): string => fp({ ciphers: [0x1301], extensions: [ext.alpn(values)] }).ja4.slice(8, 10);
  t.equal(alpn(['h2', 'http/1.1']), 'h2');
  t.equal(alpn(['http/1.1', 'h2']), 'h1', 'the first value only');
  t.equal(alpn(['h3']), 'h3');
  t.equal(alpn(['a']), 'aa', 'one character is both first and last');
  t.equal(alpn([Buffer.from([0xab])]), 'ab', 'spec: 0xAB → ab');
  t.equal(alpn([Buffer.from([0xab, 0xcd])]), 'ad', 'spec: 0xAB 0xCD → ad');
  t.equal(alpn([Buffer.from([0x30, 0xab])]), '3b', 'spec: 0x30 0xAB → 3b');
  t.equal(alpn([Buffer.from([0x30, 0x31, 0xab, 0xcd])]), '3d', 'spec: 0x30 0x31 0xAB 0xCD → 3d');
  t.equal(alpn([Buffer.from([0x30, 0xab, 0xcd, 0x31])]), '01', 'spec: alphanumeric ends win even with odd bytes inside');
  t.equal(alpn(['h2/']), '6f', 'last char "/" → hex 68322f → 6f');
  t.equal(alpn(['-h2']), '22', 'first char "-" → hex 2d6832 → 22');
  t.equal(alpn([Buffer.from('é', 'utf8')]), 'c9', 'non-ASCII UTF-8: hex c3a9 → c9');
  t.equal(alpn(['']), '00', 'an empty first value');
  t.equal(alpn([]), '00', 'an empty list');
  t.equal(fp({ ciphers: [0x1301] }).ja4.slice(8, 10), '00', 'no ALPN extension');
});

t.test('empty cipher list and no extensions: 000000000000', async (t) => {
  const f = fp({ ciphers: [], helloVersion: 0x0303 });
  t.equal(f.ja4, 't12i000000_000000000000_000000000000');
  t.equal(f.ja4_o, 't12i000000_000000000000_000000000000');
  t.equal(f.ja4_r, 't12i000000__');
  t.equal(f.ja4_ro, 't12i000000__');
  t.equal(f.ja3_string, '771,,,,');
  const onlyGrease = fp({ ciphers: [0x0a0a], extensions: [ext.raw(0x1a1a)] });
  t.equal(onlyGrease.ja4, 't12i000000_000000000000_000000000000', 'GREASE alone counts as nothing');
});

t.test('SNI and ALPN: counted, dropped from the sorted list, kept in the original order', async (t) => {
  const f = fp({ ciphers: [0x1301], extensions: [ext.serverName('a.test'), ext.alpn(['h2'])] });
  t.equal(f.ja4, 't12d0102h2_' + sha12('1301') + '_000000000000', 'sorted list is empty once SNI and ALPN go');
  t.equal(f.ja4_r, 't12d0102h2_1301_');
  t.equal(f.ja4_ro, 't12d0102h2_1301_0000,0010');
  t.equal(f.ja4_o, 't12d0102h2_' + sha12('1301') + '_' + sha12('0000,0010'));
});

t.test('signature algorithms: appended in wire order; none means no trailing underscore', async (t) => {
  const exts: HelloExtension[] = [ext.raw(0x0017), ext.signatureAlgorithms([0x0804, 0x0403, 0x0201]), ext.raw(0x000b, [1, 0])];
  const f = fp({ ciphers: [0xc02f, 0x1301], extensions: exts });
  t.equal(f.ja4_r, 't12i020300_1301,c02f_000b,000d,0017_0804,0403,0201');
  t.equal(f.ja4_ro, 't12i020300_c02f,1301_0017,000d,000b_0804,0403,0201');
  t.equal(f.ja4, `t12i020300_${sha12('1301,c02f')}_${sha12('000b,000d,0017_0804,0403,0201')}`);
  const none = fp({ ciphers: [0x1301], extensions: [ext.raw(0x0017)] });
  t.equal(none.ja4_r, 't12i010100_1301_0017');
  t.equal(none.ja4, `t12i010100_${sha12('1301')}_${sha12('0017')}`);
});

t.test('counts are capped at 99', async (t) => {
  const ciphers = Array.from({ length: 120 }, (_, i) => 0x0100 + i);
  const extensions = Array.from({ length: 105 }, (_, i) => ext.raw(0x1000 + i));
  const f = fp({ ciphers, extensions });
  t.match(f.ja4, /^t12i999900_/);
  t.equal(f.ja4_r.split('_')[1]!.split(',').length, 120, 'the lists themselves are not cut');
});

t.test('JA3 drops GREASE from ciphers, extensions and groups, keeps order', async (t) => {
  const f = fp({
    ciphers: [0x8a8a, 0x1301, 0x002f],
    extensions: [ext.raw(0x9a9a), ext.supportedGroups([0xaaaa, 0x001d, 0x0017]), ext.ecPointFormats([0, 1]), ext.raw(0x0017)],
  });
  t.equal(f.ja3_string, '771,4865-47,10-11-23,29-23,0-1');
  t.equal(f.ja3, createHash('md5').update('771,4865-47,10-11-23,29-23,0-1').digest('hex'));
});

t.test('the bare-message path fingerprints as QUIC', async (t) => {
  const message = buildHandshake({ ciphers: [0x1301], extensions: [ext.supportedVersions([0x0304]), ext.alpn(['h3'])] });
  t.match(fingerprints(parseClientHelloBody(message, { transport: 'quic' })).ja4, /^q13i0102h3_/);
});
