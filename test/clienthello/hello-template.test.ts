// Hello families (hello-template.ts): a hello like one already parsed is recognised in one walk
// and takes the family's checks, shape and fingerprints. Whatever path a hello takes, what a
// plugin reads of it must be what a full parse of its own bytes says.
import t, { type Test } from 'tap';
import { ClientHelloError } from '../../proxy/errors.ts';
import { fingerprints } from '../../proxy/clienthello/fingerprints.ts';
import { helloShape, LazyHelloInfo } from '../../proxy/clienthello/hello-info.ts';
import type { FamilyMember } from '../../proxy/clienthello/hello-template.ts';
import { parseClientHello } from '../../proxy/clienthello/parse.ts';
import type { ClientHello } from '../../proxy/clienthello/types.ts';
import { loadBrowserSignature, permuteExtensions } from '../support/browser-hello.ts';
import { buildClientHello, ext, type HelloSpec } from '../support/hello-builder.ts';
import { referenceHellos } from '../support/reference-hellos.ts';

const arrival = { acceptToFirstByteMs: 0, acceptToCompleteMs: 0, reads: 1, gapsMs: [], records: 1 };
const familyOf = (h: ClientHello) => (h as ClientHello & FamilyMember).template;
const plain = (h: ClientHello): unknown => JSON.parse(JSON.stringify(h));

/** What LazyHelloInfo says, next to what the hello's own lists give. */
function agrees(t: Test, h: ClientHello, what: string): void {
  const info = new LazyHelloInfo(h, arrival);
  const direct = fingerprints(h);
  t.same({ ja3: info.ja3, ja3_string: info.ja3_string, ja4: info.ja4, ja4_r: info.ja4_r, ja4_o: info.ja4_o, ja4_ro: info.ja4_ro }, direct, `${what}: fingerprints`);
  const shape = info.shape;
  t.equal(new LazyHelloInfo(parseClientHello(h.raw), arrival).shape, shape, `${what}: the same shape again`);
  t.equal(helloShape(h) === 0, shape === 0, `${what}: keyed as its lists are`);
}

t.test('a second hello of a family parses to the same hello', async (t) => {
  for (const ref of referenceHellos()) {
    const raw = Buffer.from(ref.clientHelloHex, 'hex');
    const first = parseClientHello(raw);
    const again = parseClientHello(Buffer.from(raw));
    t.ok(familyOf(first), `${ref.id}: has a family`);
    t.equal(familyOf(again), familyOf(first), `${ref.id}: the same family`);
    t.same(plain(again), plain(first), `${ref.id}: the same hello`);
    agrees(t, again, ref.id);
  }
});

t.test("a family member keeps its own random, session id, key shares, padding and GREASE", async (t) => {
  const spec = (random: number, grease: number, padding: number): HelloSpec => ({
    random: Buffer.alloc(32, random),
    sessionId: Buffer.alloc(32, random + 1),
    ciphers: [grease, 0x1301, 0x1302],
    extensions: [
      ext.raw(grease),
      ext.serverName('example.com'),
      ext.supportedGroups([grease, 0x1d, 0x17]),
      ext.supportedVersions([grease, 0x0304, 0x0303]),
      ext.keyShare([{ group: grease, length: 1 }, { group: 0x1d, length: 32 }]),
      ext.alpn(['h2', 'http/1.1']),
      ext.padding(padding),
    ],
  });
  const a = parseClientHello(buildClientHello(spec(1, 0x0a0a, 10)));
  const b = parseClientHello(buildClientHello(spec(7, 0xdada, 40)));
  t.equal(familyOf(b), familyOf(a), 'one family');
  t.same(b.random, Buffer.alloc(32, 7), 'its own random');
  t.same(b.sessionId, Buffer.alloc(32, 8), 'its own session id');
  t.equal(b.paddingLength, 40, 'its own padding');
  t.equal(b.ciphers[0], 0xdada, 'its own GREASE');
  t.same(b.keyShares, [{ group: 0xdada, length: 1 }, { group: 0x1d, length: 32 }]);
  t.equal(b.helloLength, a.helloLength + 30);
  agrees(t, b, 'member');
  // SNI and ALPN first, as routing reads them: decoded on their own, the same lists after the rest.
  const c = parseClientHello(buildClientHello(spec(9, 0x3a3a, 20)));
  t.equal(c.sni, 'example.com', 'SNI');
  c.alpn.push('x');
  t.same(c.alpn, ['h2', 'http/1.1', 'x'], 'ALPN read twice is one list');
  t.equal(c.ciphers[0], 0x3a3a, 'the other lists decoded after');
  t.same(c.alpn, ['h2', 'http/1.1', 'x'], 'and ALPN stays that list');
  c.sni = 'changed.example';
  t.equal(c.sni, 'changed.example', 'a list field can still be set');
  const other = parseClientHello(buildClientHello({ ...spec(1, 0x0a0a, 10), ciphers: [0x1301] }));
  t.not(familyOf(other), familyOf(a), 'another cipher list: another family');
});

t.test('an ECH body, QUIC transport parameters and GREASE in signature algorithms are per connection', async (t) => {
  const spec = (fill: number, grease: number): HelloSpec => ({
    ciphers: [0x1301],
    extensions: [
      ext.supportedVersions([0x0304]),
      ext.signatureAlgorithms([grease, 0x0403, 0x0804]),
      ext.keyShare([{ group: 0x1d, length: 32 }]),
      ext.raw(0xfe0d, Buffer.alloc(fill, fill)),
      ext.raw(0x0039, Buffer.alloc(fill + 3, fill)),
    ],
  });
  const a = parseClientHello(buildClientHello(spec(40, 0x1a1a)));
  const b = parseClientHello(buildClientHello(spec(90, 0x5a5a)));
  t.equal(familyOf(b), familyOf(a), 'one family');
  t.equal(b.signatureAlgorithms[0], 0x5a5a, 'its own GREASE');
  t.equal(b.extensions.find((e) => e.type === 0xfe0d)?.data.length, 90, 'its own ECH body');
  agrees(t, b, 'ECH');
});

t.test("Chrome's extension orders are one family; JA3 and JA4_o follow each hello's order", async (t) => {
  const { spec } = loadBrowserSignature('chrome_142.0.7444.176.yaml');
  const hellos = [1, 2, 3, 4].map((seed) => parseClientHello(buildClientHello(permuteExtensions(spec, seed))));
  const infos = hellos.map((h) => new LazyHelloInfo(h, arrival));
  for (const [i, h] of hellos.entries()) {
    t.equal(familyOf(h), familyOf(hellos[0]!), `order ${i}: one family`);
    agrees(t, h, `order ${i}`);
  }
  t.equal(new Set(infos.map((f) => f.ja4)).size, 1, 'one JA4');
  t.equal(new Set(infos.map((f) => f.ja3)).size, 4, 'a JA3 per order');
});

t.test('a malformed hello never takes a family’s checks', async (t) => {
  const good: HelloSpec = { ciphers: [0x1301], extensions: [ext.keyShare([{ group: 0x1d, length: 32 }]), ext.supportedGroups([0x1d])] };
  parseClientHello(buildClientHello(good));
  const cases: Array<[string, HelloSpec]> = [
    ['a key share longer than its list', { ciphers: [0x1301], extensions: [ext.raw(0x33, [0, 36, 0, 0x1d, 0, 40, ...Buffer.alloc(32)]), ext.supportedGroups([0x1d])] }],
    ['a group list longer than its extension', { ciphers: [0x1301], extensions: [ext.keyShare([{ group: 0x1d, length: 32 }]), ext.raw(0x0a, [0, 4, 0, 0x1d])] }],
    ['an extension twice', { ciphers: [0x1301], extensions: [ext.keyShare([{ group: 0x1d, length: 32 }]), ext.supportedGroups([0x1d]), ext.supportedGroups([0x1d])] }],
    ['an empty version list', { ciphers: [0x1301], extensions: [ext.keyShare([{ group: 0x1d, length: 32 }]), ext.supportedGroups([0x1d]), ext.raw(0x2b, [0])] }],
  ];
  for (const [name, spec] of cases) {
    const raw = buildClientHello(spec);
    for (let i = 0; i < 2; i++) {
      t.throws(() => parseClientHello(raw), ClientHelloError, `${name}: refused (${i === 0 ? 'first' : 'again'})`);
    }
  }
});
