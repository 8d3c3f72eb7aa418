// The handshake rate per fingerprint as a signal: an unknown stack whose handshakes suddenly
// run far above its own usual rate, from sources new to it (a distributed flood: many sources,
// few connections each), scores `fingerprint-surge`; a client that already knew the stack is
// not blamed for the surge; explain and /fingerprints show the rate.
import t from 'tap';
import { startWeaver } from '../support/weaver-harness.ts';
import { adminJson, baeConfig, decisionFor, sendHello, type Decision } from './support.ts';
import { botHello } from './hellos.ts';

const h = await startWeaver(baeConfig({ options: `      signals: { printSurgePer10s: 30, printSurgeRatio: 3 }\n` }));
t.teardown(() => h.stop());

async function hello(src: string): Promise<Decision> {
  const r = await sendHello(h.port, botHello(), src);
  return decisionFor(h.adminPort, src, r.localPort);
}

const surge = (d: Decision): boolean => d.reasons.some((r) => r.signal === 'fingerprint-surge');

t.test('a surge of one unknown fingerprint from many new sources', async (t) => {
  const regular = '127.63.0.1';
  t.notOk(surge(await hello(regular)), 'one handshake is no surge');
  const wave: Decision[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 6 }, async () => {
      while (next < 60) {
        const i = next++;
        wave.push(await hello(`127.63.1.${i + 1}`));
      }
    }),
  );
  wave.sort((a, b) => a.address.localeCompare(b.address, 'en', { numeric: true }));
  t.notOk(wave.slice(0, 20).some(surge), 'below the rate floor: nothing');
  const flagged = wave.slice(40).filter(surge).length;
  t.ok(flagged >= 15, `${flagged} of the last 20 new sources score fingerprint-surge`);
  const back = await hello(regular);
  t.notOk(surge(back), 'the client that knew the stack before the surge is not blamed for it');

  const e = await adminJson<{ lastDecision: { features: { printBurst: number } } }>(h.adminPort, '/explain?addr=127.63.1.60');
  t.ok(e.lastDecision.features.printBurst >= 30, `explain shows the rate: ${e.lastDecision.features.printBurst.toFixed(1)} in ~10 s`);
  const top = await adminJson<{ top: Array<{ ja4: string; handshakesPer10s: number; sources: number }> }>(h.adminPort, '/fingerprints');
  const mine = top.top.find((f) => f.ja4 === back.ja4)!;
  t.equal(mine.sources, 61);
  t.ok(mine.handshakesPer10s >= 30, `/fingerprints too: ${mine.handshakesPer10s}`);
});
