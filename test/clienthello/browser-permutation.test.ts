// Browsers, from the curl-impersonate signatures in shared/data/browser_clienthello: Chrome
// shuffles its extensions on every connection, which must leave JA4 alone and change JA3.
// Hellos built from the signatures are also checked against fingerprints published by others.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { fingerprints } from '../../proxy/clienthello/fingerprints.ts';
import { parseClientHello } from '../../proxy/clienthello/parse.ts';
import { loadBrowserSignature, orderLikeJa3, permuteExtensions } from '../support/browser-hello.ts';
import { buildClientHello } from '../support/hello-builder.ts';
import type { HelloSpec } from '../support/hello-builder.ts';
import { sharedDataPath } from '../support/shared-data.ts';

const fp = (spec: HelloSpec): ReturnType<typeof fingerprints> => fingerprints(parseClientHello(buildClientHello(spec)));
const files = readdirSync(sharedDataPath('browser_clienthello')).filter((f) => f.endsWith('.yaml')).sort();

t.test('Chrome 142 with two extension orders: same JA4, different JA3', async (t) => {
  const { spec } = loadBrowserSignature('chrome_142.0.7444.176.yaml');
  const a = permuteExtensions(spec, 1);
  const b = permuteExtensions(spec, 2);
  const order = (s: HelloSpec): string => s.extensions!.map((e) => e.type).join(',');
  t.not(order(a), order(b), 'the two hellos really differ in order');
  t.same([...a.extensions!].map((e) => e.type).sort(), [...b.extensions!].map((e) => e.type).sort(), 'same extensions');
  const fa = fp(a);
  const fb = fp(b);
  t.equal(fa.ja4, fb.ja4, 'ja4 equal');
  t.equal(fa.ja4_r, fb.ja4_r, 'ja4_r equal');
  t.not(fa.ja3, fb.ja3, 'ja3 differs');
  t.not(fa.ja4_o, fb.ja4_o, 'ja4_o (original order) differs, as it should');
  t.not(fa.ja4_ro, fb.ja4_ro);
  t.match(fa.ja4, /^t13d1516h2_8daaf6152771_/, 'Chrome-shaped JA4 a');
});

t.test('every Chrome and Edge signature: JA4 stable under shuffling', async (t) => {
  for (const file of files.filter((f) => /^(chrome|edge)_/.test(f))) {
    const { spec } = loadBrowserSignature(file);
    const seen = new Set<string>();
    const ja3s = new Set<string>();
    for (let seed = 1; seed <= 5; seed++) {
      const f = fp(permuteExtensions(spec, seed));
      seen.add(f.ja4);
      ja3s.add(f.ja3);
    }
    t.equal(seen.size, 1, `${file}: one JA4 over 5 orders`);
    t.ok(ja3s.size > 1, `${file}: ${ja3s.size} JA3s over 5 orders`);
  }
});

// The signatures carry the JA3 their source measured on the real browser: a hello built in
// that extension order must hash the same. Some signatures were edited after capture (their
// JA3 names other extensions or groups); those are left out, and at least ten must remain.
t.test('built hellos reproduce the published JA3 of the signature', async (t) => {
  let compared = 0;
  for (const file of files) {
    const sig = loadBrowserSignature(file);
    if (!sig.thirdParty) continue;
    const ordered = orderLikeJa3(sig.spec, sig.thirdParty.ja3Text);
    const f = ordered && fp(ordered);
    if (!f || f.ja3_string.split(',')[3] !== sig.thirdParty.ja3Text.split(',')[3]) continue;
    t.equal(f.ja3_string, sig.thirdParty.ja3Text, `${file}: ja3 string`);
    t.equal(f.ja3, sig.thirdParty.ja3Hash, `${file}: ja3 hash`);
    compared++;
  }
  t.ok(compared >= 10, `${compared} signatures compared`);
});

// JA4 of browsers as verified by ja4db.com: hellos built from the signatures must land on them.
t.test('built Chrome hellos have JA4s that ja4db verified for Chrome', async (t) => {
  const db = JSON.parse(readFileSync(sharedDataPath('ja4/ja4db_verified.json'), 'utf8')) as { application?: string; ja4_fingerprint?: string }[];
  const chromeJa4 = new Set(db.filter((r) => /chrom/i.test(r.application ?? '')).map((r) => r.ja4_fingerprint));
  const expected: Record<string, string> = {
    'chrome_110.0.5481.177_win10.yaml': 't13d1516h2_8daaf6152771_e5627efa2ab1',
    'chrome_119.0.6045.123_linux.yaml': 't13d1517h2_8daaf6152771_b1ff8ab2d16f',
    'chrome_124.0.6367.60.yaml': 't13d1516h2_8daaf6152771_02713d6af862',
  };
  for (const [file, ja4] of Object.entries(expected)) {
    const f = fp(permuteExtensions(loadBrowserSignature(file).spec, 3));
    t.equal(f.ja4, ja4, `${file}`);
    t.ok(chromeJa4.has(f.ja4), `${file}: ${f.ja4} is a verified Chrome JA4`);
  }
});
