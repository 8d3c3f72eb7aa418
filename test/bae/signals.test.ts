// The small signal functions on real data: client-random quality, TLS stack class of real
// browser and library hellos, User-Agent classes, weak-suite detection, list parsing.
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import t from 'tap';
import { parseClientHello } from '../../proxy/clienthello/parse.ts';
import { byteEntropy, RandomTracker, timeLikePrefix } from '../../plugins/bae/randomness.ts';
import { isWeakCipher, stackClass, uaClass } from '../../plugins/bae/stacks.ts';
import { parseList } from '../../plugins/bae/lists.ts';
import { orderDrift, rankOf } from '../../plugins/bae/features.ts';
import { sharedDataPath } from '../support/shared-data.ts';
import { browserHello, libraryHellos, scannerHello } from './hellos.ts';

t.test('client-random quality', async (t) => {
  const samples = Array.from({ length: 200 }, () => byteEntropy(randomBytes(32)));
  t.ok(Math.min(...samples) > 4.2, `real randoms: min ${Math.min(...samples).toFixed(2)} bits/byte`);
  t.equal(byteEntropy(Buffer.alloc(32, 7)), 0);
  t.equal(byteEntropy(Buffer.alloc(32).fill(Buffer.from([1, 2, 3, 4]))), 2);
  const now = Date.now();
  const timed = Buffer.alloc(32);
  timed.writeUInt32BE(Math.floor(now / 1000));
  t.ok(timeLikePrefix(timed, now));
  t.notOk(timeLikePrefix(Buffer.alloc(32, 0xff), now));
  const seen = new RandomTracker(100, 60_000);
  const r = randomBytes(32);
  t.equal(seen.record(r), 0);
  t.equal(seen.record(randomBytes(32)), 0);
  t.equal(seen.record(Buffer.from(r)), 1, 'the same bytes in another buffer are a repeat');
  for (let i = 0; i < 500; i++) seen.record(randomBytes(32));
  t.ok(seen.size <= 100, `bounded: ${seen.size}`);
  const kept = new RandomTracker(1_000, 60_000);
  kept.record(r);
  kept.record(r);
  const back = new RandomTracker(1_000, 60_000);
  t.equal(back.restore(JSON.parse(JSON.stringify(kept.snapshot()))), 1);
  t.equal(back.record(Buffer.from(r)), 2, 'a snapshot brings the count back');
  const stale = new RandomTracker(1_000, 60_000);
  t.equal(stale.restore(kept.snapshot(), Date.now() + 120_000), 0, 'a snapshot two TTLs old is past remembering');
});

t.test('TLS stack class of real hellos', async (t) => {
  const browsers = readdirSync(sharedDataPath('browser_clienthello')).filter((f) => f.endsWith('.yaml'));
  for (const file of browsers) t.equal(stackClass(parseClientHello(browserHello(file, 1)), undefined), 'browser', file);
  for (const lib of libraryHellos()) {
    if (/chrom/i.test(lib.client)) continue; // a real Chromium capture is a browser
    t.equal(stackClass(parseClientHello(lib.bytes), undefined), 'library', lib.client);
  }
  t.equal(stackClass(parseClientHello(libraryHellos()[0]!.bytes), 'Chrome 120'), 'browser', 'a known JA4 settles it');
});

t.test('User-Agent classes and weak suites', async (t) => {
  t.equal(uaClass('Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0'), 'browser');
  t.equal(uaClass('curl/8.5.0'), 'tool');
  t.equal(uaClass('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'), 'bot');
  t.equal(uaClass(undefined), 'none');
  t.ok(isWeakCipher(0x0003) && isWeakCipher(0xc016) && !isWeakCipher(0x1301) && !isWeakCipher(0xc02f));
  const weak = parseClientHello(scannerHello()).ciphers.filter(isWeakCipher).length;
  t.ok(weak > 20, `a scanner offers ${weak} weak suites`);
});

t.test('list formats', async (t) => {
  t.same(parseList('# ja3_md5,Firstseen,Lastseen,Listingreason\nb386946a5a44d1ddcc843bc75336dfce,2017-07-14,2019-07-27,Dridex\n'), [
    ['b386946a5a44d1ddcc843bc75336dfce', 'bad', 'Dridex'],
  ]);
  t.same(parseList('61d50e7771aee7f2f4b89a7200b4d45e,"AcroCEF"\n'), [['61d50e7771aee7f2f4b89a7200b4d45e', 'good', 'AcroCEF']]);
  t.same(parseList('Application,Library,Device,OS,ja4\nSliver Agent,GoLang,,,t13d190900_9dc949149365_97f8aa674fd9\n,GoLang,,,t13d190900_9dc949149365_97f8aa674fd9\n'), [
    ['t13d190900_9dc949149365_97f8aa674fd9', 'bad', 'Sliver Agent / GoLang'],
    ['t13d190900_9dc949149365_97f8aa674fd9', 'good', 'GoLang'],
  ]);
  t.same(parseList('[{"application":"Chrome","ja4_fingerprint":"t13d1516h2_8daaf6152771_02713d6af862"}]'), [['t13d1516h2_8daaf6152771_02713d6af862', 'good', 'Chrome']]);
});

t.test('cipher order drift', async (t) => {
  const ref = rankOf([1, 2, 3, 4]);
  t.equal(orderDrift([1, 2, 3, 4], ref), 0);
  t.equal(orderDrift([4, 3, 2, 1], ref), 1);
  t.equal(orderDrift([2, 1, 3, 4], ref), 1 / 3);
  t.equal(orderDrift([1, 9, 2, 3], ref), 0, 'suites the reference lacks are skipped');
});
