// ClientHello parsing: every field the core exposes, and malformed input of every shape failing
// as ClientHelloError — never as a RangeError or a wrong answer.
import t from 'tap';
import { ClientHelloError } from '../../proxy/errors.ts';
import { fingerprints } from '../../proxy/clienthello/fingerprints.ts';
import { parseClientHello, parseClientHelloBody } from '../../proxy/clienthello/parse.ts';
import { buildClientHello, buildHandshake, ext, frameRecords, u16, u24, vec8 } from '../support/hello-builder.ts';
import type { HelloSpec } from '../support/hello-builder.ts';
import { referenceHellos } from '../support/reference-hellos.ts';

const full: HelloSpec = {
  helloVersion: 0x0303,
  random: Buffer.alloc(32, 0xab),
  sessionId: Buffer.alloc(32, 0xcd),
  ciphers: [0x2a2a, 0x1301, 0x1302, 0xc02b],
  compression: [0],
  extensions: [
    ext.raw(0x3a3a),
    ext.serverName('api.example.test'),
    ext.supportedGroups([0x4a4a, 0x11ec, 0x001d, 0x0017]),
    ext.ecPointFormats([0]),
    ext.signatureAlgorithms([0x0403, 0x0804, 0x0401]),
    ext.alpn(['h2', 'http/1.1']),
    ext.keyShare([{ group: 0x4a4a, length: 1 }, { group: 0x001d, length: 32 }]),
    ext.pskKeyExchangeModes([1]),
    ext.supportedVersions([0x5a5a, 0x0304, 0x0303]),
    ext.raw(0x0017),
    ext.padding(77),
    ext.raw(0x6a6a, [0]),
  ],
};

function handshake(body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([1]), u24(body.length), body]);
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ClientHelloError) return err.code;
    throw err;
  }
  return 'parsed';
}

t.test('every field of a full hello', async (t) => {
  const raw = buildClientHello(full, { recordVersion: 0x0301 });
  const h = parseClientHello(raw);
  t.equal(h.transport, 'tcp');
  t.equal(h.recordVersion, 0x0301);
  t.equal(h.helloVersion, 0x0303);
  t.same(h.random, Buffer.alloc(32, 0xab));
  t.same(h.sessionId, Buffer.alloc(32, 0xcd));
  t.same(h.ciphers, [0x2a2a, 0x1301, 0x1302, 0xc02b], 'GREASE kept, wire order');
  t.same(h.compressionMethods, [0]);
  t.same(h.extensionTypes, [0x3a3a, 0, 0x0a, 0x0b, 0x0d, 0x10, 0x33, 0x2d, 0x2b, 0x17, 0x15, 0x6a6a]);
  t.same(h.extensions.map((e) => e.data), full.extensions!.map((e) => e.data), 'raw extension bodies');
  t.equal(h.sni, 'api.example.test');
  t.same(h.supportedGroups, [0x4a4a, 0x11ec, 0x001d, 0x0017]);
  t.same(h.ecPointFormats, [0]);
  t.same(h.signatureAlgorithms, [0x0403, 0x0804, 0x0401]);
  t.same(h.alpn, ['h2', 'http/1.1']);
  t.same(h.keyShares, [{ group: 0x4a4a, length: 1 }, { group: 0x001d, length: 32 }]);
  t.same(h.pskKeyExchangeModes, [1]);
  t.same(h.supportedVersions, [0x5a5a, 0x0304, 0x0303]);
  t.equal(h.paddingLength, 77);
  t.equal(h.helloLength, raw.length - 5);
  t.equal(h.raw, raw);
});

t.test('a hello with no extensions block (TLS 1.0 style)', async (t) => {
  const h = parseClientHello(buildClientHello({ helloVersion: 0x0301, ciphers: [0x002f], sessionId: Buffer.alloc(0) }));
  t.same(h.extensions, []);
  t.equal(h.sni, undefined);
  t.same(h.alpn, []);
  t.same(h.supportedVersions, []);
  t.equal(h.paddingLength, 0);
  t.equal(h.sessionId.length, 0);
});

t.test('a bare handshake message, as QUIC CRYPTO frames carry it', async (t) => {
  const message = buildHandshake(full);
  const h = parseClientHelloBody(message, { transport: 'quic' });
  t.equal(h.transport, 'quic');
  t.equal(h.recordVersion, 0, 'no record layer');
  t.equal(h.raw, message);
  t.equal(h.sni, 'api.example.test');
  t.match(fingerprints(h).ja4, /^q13d0310h2_/, 'JA4 starts with q');
  const tcp = fingerprints(parseClientHello(frameRecords(message)));
  t.equal(fingerprints(h).ja4.slice(1), tcp.ja4.slice(1), 'otherwise the same JA4 as over TCP');
});

t.test('malformed hellos say what is wrong', async (t) => {
  const cases: [string, HelloSpec | Buffer, RegExp][] = [
    ['odd cipher list', handshake(Buffer.concat([u16(0x0303), Buffer.alloc(32), vec8(Buffer.alloc(0)), Buffer.from([0, 3, 0x13, 0x01, 0x13, 1, 0])])), /cipher_suites: cipher suite has odd length 3/],
    ['trailing bytes after extensions', handshake(Buffer.concat([buildHandshake({ ciphers: [0x1301], extensions: [] }).subarray(4), Buffer.from([0])])), /trailing/],
    ['session id over 32', { ciphers: [0x1301], sessionId: Buffer.alloc(33) }, /session id length 33/],
    ['supported_versions odd', { ciphers: [0x1301], extensions: [ext.raw(0x2b, [3, 3, 4, 3])] }, /odd length/],
    ['supported_versions empty', { ciphers: [0x1301], extensions: [ext.raw(0x2b, [0])] }, /empty/],
    ['groups longer than the extension', { ciphers: [0x1301], extensions: [ext.raw(0x0a, [0, 8, 0, 0x1d])] }, /named_group_list/],
    ['trailing bytes in signature_algorithms', { ciphers: [0x1301], extensions: [ext.raw(0x0d, [0, 2, 4, 3, 9])] }, /trailing/],
    ['empty host_name', { ciphers: [0x1301], extensions: [ext.raw(0, [0, 3, 0, 0, 0])] }, /host_name is empty/],
    ['two host_names', { ciphers: [0x1301], extensions: [ext.raw(0, [0, 8, 0, 0, 1, 0x61, 0, 0, 1, 0x62])] }, /more than one/],
    ['key_share entry cut short', { ciphers: [0x1301], extensions: [ext.raw(0x33, [0, 6, 0, 0x1d, 0, 32, 1, 2])] }, /key_exchange/],
    ['ALPN name past its list', { ciphers: [0x1301], extensions: [ext.raw(0x10, [0, 3, 5, 0x68, 0x32])] }, /protocol_name/],
    ['duplicate extension', { ciphers: [0x1301], extensions: [ext.raw(0x17), ext.raw(0x17)] }, /appears twice/],
  ];
  for (const [name, input, message] of cases) {
    const raw = Buffer.isBuffer(input) ? frameRecords(input) : buildClientHello(input);
    try {
      parseClientHello(raw);
      t.fail(`${name}: parsed`);
    } catch (err) {
      t.ok(err instanceof ClientHelloError, `${name}: a ClientHelloError`);
      t.equal((err as ClientHelloError).code, 'WEAVER_ERR_HELLO_MALFORMED', `${name}: MALFORMED`);
      t.match((err as Error).message, message, `${name}: says why`);
    }
  }
  t.equal(codeOf(() => parseClientHelloBody(Buffer.from('0100', 'hex'))), 'WEAVER_ERR_HELLO_MALFORMED', 'header cut short');
  t.equal(codeOf(() => parseClientHelloBody(Buffer.from('020000000000', 'hex'))), 'WEAVER_ERR_HELLO_MALFORMED', 'not a client_hello');
  t.equal(codeOf(() => parseClientHelloBody(Buffer.from('01000010aaaa', 'hex'))), 'WEAVER_ERR_HELLO_TRUNCATED', 'body shorter than declared');
  t.equal(codeOf(() => parseClientHello(Buffer.concat([buildClientHello({ ciphers: [] }).subarray(0, 5 + 4 + 40)]))), 'WEAVER_ERR_HELLO_TRUNCATED');
});

// Every byte of every real hello set to 0x00 and 0xff, and every length field shortened by one:
// the parser either parses or throws ClientHelloError. A RangeError or TypeError would escape.
t.test('mutated real hellos never crash the parser', async (t) => {
  let parsed = 0;
  let refused = 0;
  for (const ref of referenceHellos().slice(0, 12)) {
    const raw = Buffer.from(ref.clientHelloHex, 'hex');
    for (let i = 0; i < raw.length; i++) {
      for (const value of [0x00, 0xff, (raw[i]! - 1) & 0xff]) {
        const copy = Buffer.from(raw);
        copy[i] = value;
        try {
          parseClientHello(copy);
          parsed++;
        } catch (err) {
          if (!(err instanceof ClientHelloError)) {
            t.fail(`${ref.id} byte ${i} = ${value}: ${(err as Error).name}: ${(err as Error).message}`);
            return;
          }
          refused++;
        }
      }
    }
    for (let n = 0; n < raw.length; n++) {
      const code = codeOf(() => parseClientHello(raw.subarray(0, n)));
      if (code !== 'WEAVER_ERR_HELLO_TRUNCATED' && code !== 'WEAVER_ERR_HELLO_NOT_TLS') t.fail(`${ref.id} cut at ${n}: ${code}`);
    }
  }
  t.ok(parsed > 0 && refused > 0, `${parsed} mutations parsed, ${refused} refused, none crashed`);
});

// A hello in one record is parsed where it lies; one over several records is joined first. Both
// must give the same hello, and the same error (offsets count from the handshake message).
t.test('one record or several: the same hello, the same errors', async (t) => {
  const message = buildHandshake(full);
  const one = parseClientHello(frameRecords(message));
  const split = parseClientHello(frameRecords(message, { fragments: [1, 2, 100] }));
  const trailing = parseClientHello(frameRecords(Buffer.concat([message, Buffer.from([0x0b, 0, 0, 0])])));
  const plain = (h: object) => ({ ...JSON.parse(JSON.stringify(h)), raw: undefined });
  t.same(plain(split), plain(one), 'split over three records');
  t.same(plain(trailing), plain(one), 'a record carrying bytes past the hello');
  t.same(one.extensions.map((e) => e.data), full.extensions!.map((e) => e.data));

  const bad = buildHandshake({ ciphers: [0x1301], extensions: [ext.raw(0x0a, [0, 8, 0, 0x1d])] });
  const messageOf = (raw: Buffer) => {
    try {
      parseClientHello(raw);
    } catch (err) {
      return (err as Error).message;
    }
    return 'parsed';
  };
  const said = messageOf(frameRecords(bad));
  t.match(said, /named_group_list needs 8 byte\(s\) at offset \d+/);
  t.equal(messageOf(frameRecords(bad, { fragments: [7] })), said, 'the same words and offset either way');
  t.equal(messageOf(frameRecords(bad, { recordVersion: 0x0303 })), said);
});

t.test('the parsed hello serialises as the plain object it stands for', async (t) => {
  const h = parseClientHello(buildClientHello(full));
  const json = JSON.parse(JSON.stringify(h));
  t.same(Object.keys(json), [
    'transport', 'recordVersion', 'helloVersion', 'random', 'sessionId', 'ciphers', 'compressionMethods', 'extensions', 'extensionTypes',
    'supportedVersions', 'supportedGroups', 'ecPointFormats', 'signatureAlgorithms', 'alpn', 'sni', 'keyShares', 'pskKeyExchangeModes',
    'paddingLength', 'helloLength', 'raw',
  ]);
  t.same(json.random, JSON.parse(JSON.stringify(Buffer.alloc(32, 0xab))), 'random cut out on first read');
  t.same(json.extensions[1], { type: 0, data: JSON.parse(JSON.stringify(full.extensions![1]!.data)) });
  t.equal(h.extensions, h.extensions, 'cut out once');
  const none = parseClientHello(buildClientHello({ ciphers: [0x1301], extensions: [] }));
  t.not(none.supportedGroups, parseClientHello(buildClientHello({ ciphers: [0x1301] })).supportedGroups, 'absent lists are arrays of their own');
  none.supportedGroups.push(0x1d);
  t.same(parseClientHello(buildClientHello({ ciphers: [0x1301] })).supportedGroups, [], 'changing one changes no other hello');
});

t.test('extensionLength agrees with the extensions list on real hellos', async (t) => {
  let checked = 0;
  for (const ref of referenceHellos()) {
    let h;
    try {
      h = parseClientHello(Buffer.from(ref.clientHelloHex, 'hex'));
    } catch {
      continue;
    }
    const first = new Map<number, number>();
    for (const e of h.extensions) if (!first.has(e.type)) first.set(e.type, e.data.length);
    for (const type of [0x0000, 0x0023, 0x0029, 0x0015, 0xfe0d]) {
      t.equal(h.extensionLength(type), first.get(type) ?? -1, `${ref.id} 0x${type.toString(16)}`);
      checked++;
    }
  }
  t.ok(checked > 50, `${checked} lookups`);
});
