// Profiles, labels, the training window, the per-fingerprint hour signals and the client-random
// tracker outlive a restart of Weaver: they go to api.store (SQLite under stateDir) at stop and
// come back at start.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { startWeaver } from '../support/weaver-harness.ts';
import { adminJson, baeConfig, decisionFor, sendHello } from './support.ts';
import { botHello, libraryHellos, withRandom } from './hellos.ts';

const run = promisify(execFile);
const stateDir = mkdtempSync(join(tmpdir(), 'weaver-bae-state-'));
t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
t.teardown(() => origin.close());
const config = baeConfig({
  stateDir,
  upstream: `  origin: { servers: [{ url: "http://127.0.0.1:${origin.port}" }] }`,
  options: `      model: { minSamples: 40, trees: 20, sampleSize: 32 }\n`,
});

interface Fingerprints {
  top: Array<{ ja4: string; handshakes: number; sources: number; requests: number; rank: number; handshakesPer10s: number }>;
}

interface Explained {
  profile: { connections: number; requests: number; class: string };
  fingerprints: Record<string, { connections: number; class: string; ratePer10s: number }>;
}

t.test('profiles, labels, the model window, fingerprint signals and seen randoms survive a restart', async (t) => {
  const first = await startWeaver(config);
  for (let i = 0; i < 2; i++) await run('curl', ['-sk', '-m', '10', '--interface', '127.50.0.1', '-o', '/dev/null', `https://127.0.0.1:${first.port}/`]);
  const curlHello = libraryHellos().find((x) => /curl/i.test(x.client))!.bytes;
  for (let i = 1; i <= 5; i++) for (let k = 0; k < 9; k++) await sendHello(first.port, withRandom(curlHello), `127.50.1.${i}`);
  const bot = await sendHello(first.port, botHello(), '127.50.2.1');
  const botJa4 = (await decisionFor(first.adminPort, '127.50.2.1', bot.localPort)).ja4;
  await adminJson(first.adminPort, '/feedback', { ja4: botJa4, label: 'bad' });
  const before = await adminJson<Explained>(first.adminPort, '/explain?addr=127.50.0.1');
  const replayed = randomBytes(32);
  const original = await sendHello(first.port, withRandom(curlHello, replayed), '127.50.3.1');
  const curlJa4 = (await decisionFor(first.adminPort, '127.50.3.1', original.localPort)).ja4;
  const printsBefore = (await adminJson<Fingerprints>(first.adminPort, '/fingerprints')).top.find((f) => f.ja4 === curlJa4)!;
  const samplesBefore = (await adminJson<{ samples: number }>(first.adminPort, '/model')).samples;
  await first.stop();

  const second = await startWeaver(config);
  t.teardown(() => second.stop());
  const after = await adminJson<Explained>(second.adminPort, '/explain?addr=127.50.0.1');
  t.equal(after.profile.connections, 2, 'the address profile came back');
  t.equal(after.profile.requests, 2);
  // ratePer10s decays with the clock; the rest is what was saved.
  const stable = (e: Explained) => Object.fromEntries(Object.entries(e.fingerprints).map(([k, { ratePer10s: _r, ...p }]) => [k, p]));
  t.same(stable(after), stable(before), 'so did its address+JA4 profile, class included');
  t.equal(Object.values(after.fingerprints)[0]!.class, 'api');
  const model = await adminJson<{ samples: number; state: string }>(second.adminPort, '/model');
  t.equal(model.samples, samplesBefore, 'the training window came back');
  t.not(model.state, 'warming-up', 'so the model trains at start, without a new warm-up');
  const r = await sendHello(second.port, botHello(), '127.50.2.2');
  t.equal((await decisionFor(second.adminPort, '127.50.2.2', r.localPort)).action, 'reject', 'the label came back');
  const printsAfter = (await adminJson<Fingerprints>(second.adminPort, '/fingerprints')).top.find((f) => f.ja4 === curlJa4);
  t.same(printsAfter, { ...printsBefore, rank: printsAfter?.rank, handshakesPer10s: printsAfter?.handshakesPer10s }, 'the fingerprint hour signals came back');
  t.ok(printsBefore.sources >= 6 && printsBefore.handshakes >= 46, `${printsBefore.sources} sources, ${printsBefore.handshakes} handshakes`);
  const replay = await sendHello(second.port, withRandom(curlHello, replayed), '127.50.3.2');
  const d = await decisionFor(second.adminPort, '127.50.3.2', replay.localPort);
  t.ok(d.reasons.some((x) => x.signal === 'random-reuse'), 'a random seen before the restart is a replay after it');
});
