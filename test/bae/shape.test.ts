// Per-stack memoisation, in the core (HelloInfo.shape, the memoised JA3/JA4) and in bae
// (shape.ts): fingerprints read through the memo are exactly the computed ones for every real
// capture and browser signature, the shape ignores what changes per connection (random,
// session id, GREASE values, Chrome's extension order) and tells stacks apart.
import { readdirSync } from 'node:fs';
import t from 'tap';
import { LazyHelloInfo } from '../../proxy/clienthello/hello-info.ts';
import { ja3 } from '../../proxy/clienthello/ja3.ts';
import { ja4 } from '../../proxy/clienthello/ja4.ts';
import { parseClientHello } from '../../proxy/clienthello/parse.ts';
import { FingerprintLists } from '../../plugins/bae/lists.ts';
import { ShapeCache } from '../../plugins/bae/shape.ts';
import { buildClientHello, ext } from '../support/hello-builder.ts';
import { sharedDataPath } from '../support/shared-data.ts';
import { browserHello, libraryHellos, scannerHello, withRandom } from './hellos.ts';

const arrival = { acceptToFirstByteMs: 0, acceptToCompleteMs: 0, reads: 1, gapsMs: [], records: 1 };
const info = (bytes: Buffer) => new LazyHelloInfo(parseClientHello(bytes), arrival);
const browsers = readdirSync(sharedDataPath('browser_clienthello')).filter((f) => f.endsWith('.yaml'));
const samples = [...libraryHellos().map((l) => l.bytes), ...browsers.flatMap((f) => [browserHello(f, 1), browserHello(f, 2)]), scannerHello()];

t.test('memoised fingerprints are the computed ones', async (t) => {
  let mismatches = 0;
  for (const round of [1, 2]) {
    for (const bytes of samples) {
      const h = info(bytes);
      const want = { ...ja3(h.parsed), ...ja4(h.parsed) };
      const got = { ja3: h.ja3, ja3_string: h.ja3_string, ja4: h.ja4, ja4_r: h.ja4_r, ja4_o: h.ja4_o, ja4_ro: h.ja4_ro };
      if (JSON.stringify(got) !== JSON.stringify(want)) mismatches++;
    }
    t.equal(mismatches, 0, `${samples.length} hellos, ${round === 1 ? 'first sight' : 'from the memo'}`);
  }
});

t.test('the shape ignores per-connection values and tells stacks apart', async (t) => {
  for (const lib of libraryHellos()) t.equal(info(withRandom(lib.bytes)).shape, info(withRandom(lib.bytes)).shape, `${lib.client}: a new random`);
  for (const f of browsers.filter((x) => /chrome/i.test(x))) {
    const a = info(browserHello(f, 1));
    const b = info(browserHello(f, 7));
    t.equal(a.shape, b.shape, `${f}: another extension order, random and session id`);
    t.equal(a.ja4, b.ja4);
  }
  const byJa4 = new Map<number, string>();
  for (const bytes of samples) {
    const h = info(bytes);
    byJa4.set(h.shape, h.ja4);
  }
  const ja4s = new Set(samples.map((b) => info(b).ja4));
  t.ok(byJa4.size >= ja4s.size, `${byJa4.size} shapes for ${ja4s.size} JA4s: no two JA4s share a shape`);
});

t.test('a hello too large to key: shape 0, fingerprints computed all the same', async (t) => {
  const ciphers = Array.from({ length: 1100 }, (_, i) => 0x0100 + i);
  const bytes = buildClientHello({ ciphers, extensions: [ext.serverName('localhost'), ext.supportedGroups([0x001d])] });
  for (const round of [1, 2]) {
    const h = info(bytes);
    t.equal(h.shape, 0, `not keyed (${round === 1 ? 'first' : 'second'} sight)`);
    t.same({ ja3: h.ja3, ja3_string: h.ja3_string, ja4: h.ja4, ja4_r: h.ja4_r, ja4_o: h.ja4_o, ja4_ro: h.ja4_ro }, { ...ja3(h.parsed), ...ja4(h.parsed) });
  }
  const cache = new ShapeCache();
  const lists = new FingerprintLists();
  cache.get(info(bytes), lists);
  t.equal(cache.size, 0, "bae's cache keeps no entry for it");
});

t.test("bae's shape cache: one entry per stack, its list verdict kept up to date", async (t) => {
  const cache = new ShapeCache();
  const lists = new FingerprintLists();
  const curl = libraryHellos().find((x) => /curl/i.test(x.client))!.bytes;
  const first = cache.get(info(withRandom(curl)), lists);
  t.equal(cache.get(info(withRandom(curl)), lists), first, 'the same object for the same stack');
  t.equal(first.ja4Hit, undefined);
  lists.add(first.ja4, 'bad', 'test');
  t.match(cache.get(info(withRandom(curl)), lists).ja4Hit, { verdict: 'bad', bad: 'test' }, 'a list change is seen at once');
  for (const bytes of samples) cache.get(info(bytes), lists);
  t.ok(cache.size <= samples.length + 1);
});
