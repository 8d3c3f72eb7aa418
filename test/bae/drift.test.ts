// A retraining triggered by drift, not by the timer: the model learns one mix of traffic, the
// traffic changes, the mean forest score moves by more than `driftThreshold` training standard
// deviations, and the model retrains on its own (the interval timer is an hour away).
import t from 'tap';
import { startWeaver } from '../support/weaver-harness.ts';
import { adminJson, baeConfig, sendHello } from './support.ts';
import { browserHello, libraryHellos, withRandom } from './hellos.ts';

const h = await startWeaver(
  baeConfig({
    // Raw hellos from a few dozen sources without requests would read as a rotation and be
    // left out of training: this test is about the model, so that signal is off.
    options: `      model: { minSamples: 60, trees: 30, sampleSize: 64, retrainIntervalMs: 3600000, driftThreshold: 1, driftMinScored: 128, driftCooldownMs: 0 }\n      signals: { rotationSources: 1000 }\n`,
  }),
);
t.teardown(() => h.stop());

interface Model {
  state: string;
  trainings: number;
  reason: string | null;
  drift: number;
  scoredSinceTraining: number;
}

async function until(pred: (m: Model) => boolean, ms = 8_000): Promise<Model> {
  const end = Date.now() + ms;
  let m = await adminJson<Model>(h.adminPort, '/model');
  while (!pred(m) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    m = await adminJson<Model>(h.adminPort, '/model');
  }
  return m;
}

/** `n` hellos, 8 at a time, spread over `sources` addresses (several each: not a rotation). */
async function send(n: number, make: (i: number) => Buffer, net: number, sources: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < n) {
        const i = next++;
        await sendHello(h.port, make(i), `127.62.${net}.${(i % sources) + 1}`);
      }
    }),
  );
}

t.test('the model retrains when the traffic drifts away from what it learnt', async (t) => {
  const curl = libraryHellos().find((x) => /curl/i.test(x.client))!.bytes;
  await send(100, () => withRandom(curl), 0, 20);
  const warm = await until((m) => m.state === 'ready');
  t.match(warm, { state: 'ready', trainings: 1, reason: 'warm-up' });
  // Same traffic: no drift, no training.
  await send(130, () => withRandom(curl), 0, 20);
  const same = await adminJson<Model>(h.adminPort, '/model');
  t.equal(same.trainings, 1, `no retraining while the traffic is what was learnt (drift ${same.drift})`);
  // Another mix: browsers only.
  await send(260, (i) => browserHello('chrome_119.0.6045.123_linux.yaml', i), 1, 40);
  const drifted = await until((m) => m.trainings >= 2);
  t.ok(drifted.trainings >= 2, `retrained (${drifted.trainings - 1} time(s) more)`);
  t.equal(drifted.reason, 'drift', 'because of the drift, with the timer an hour away');
});
