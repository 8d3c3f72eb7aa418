// Labels sent to POST /api/plugins/bae/feedback change the next decision, and take part in the
// next training of the model (rows of a source labelled bad are not learnt as normal).
import t from 'tap';
import { startWeaver } from '../support/weaver-harness.ts';
import { adminJson, baeConfig, decisionFor, sendHello, type Decision } from './support.ts';
import { botHello, libraryHellos, withRandom } from './hellos.ts';

const h = await startWeaver(
  baeConfig({
    options: `      model: { minSamples: 60, retrainIntervalMs: 3600000, trees: 30, sampleSize: 64 }\n`,
  }),
);
t.teardown(() => h.stop());
const curlHello = libraryHellos().find((x) => /curl/i.test(x.client))!.bytes;

async function hello(bytes: Buffer, source: string): Promise<Decision> {
  const r = await sendHello(h.port, bytes, source);
  return decisionFor(h.adminPort, source, r.localPort);
}

interface Model {
  state: string;
  trainings: number;
  trainingRows: number;
}

async function modelAfter(trainings: number): Promise<Model> {
  for (let i = 0; i < 400; i++) {
    const m = await adminJson<Model>(h.adminPort, '/model');
    if (m.trainings >= trainings && m.state === 'ready') return m;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the model did not reach ${trainings} trainings`);
}

t.test('a fingerprint labelled bad is refused on its next handshake, from any source', async (t) => {
  const before = await hello(botHello(), '127.40.0.1');
  t.equal(before.action, 'primary');
  const reply = await adminJson<{ applied: unknown[] }>(h.adminPort, '/feedback', { ja4: before.ja4, label: 'bad' });
  t.match(reply.applied, [{ key: `ja4:${before.ja4}`, before: 'none', after: 'bad' }]);
  const after = await hello(botHello(), '127.40.0.2');
  t.equal(after.action, 'reject');
  t.ok(after.reasons.some((r) => r.signal === 'labelled-bad' || r.signal === 'known-bad'));
  await adminJson(h.adminPort, '/feedback', { ja4: before.ja4, label: 'none' });
  t.equal((await hello(botHello(), '127.40.0.3')).action, 'primary', 'and taking the label back undoes it');
});

t.test('a source labelled good gets through what flagged it', async (t) => {
  let last: Decision | undefined;
  for (let i = 0; i < 50; i++) last = await hello(withRandom(curlHello), '127.40.1.1');
  t.not(last!.action, 'primary', `the flood was flagged: ${last!.score}`);
  await adminJson(h.adminPort, '/feedback', { address: '127.40.1.1', label: 'good' });
  const next = await hello(withRandom(curlHello), '127.40.1.1');
  t.equal(next.action, 'primary', `after the label: ${next.score} ${next.reasons.map((r) => r.signal)}`);
  const explained = await adminJson<{ label: string }>(h.adminPort, '/explain?addr=127.40.1.1');
  t.equal(explained.label, 'good');
});

t.test('a source labelled bad leaves the next training set', async (t) => {
  // Enough ordinary traffic for the model to train (minSamples 60): ten sources taking turns,
  // eight handshakes each (more per source than a rotation, slower than a flood).
  for (let k = 0; k < 8; k++) for (let i = 1; i <= 10; i++) await hello(withRandom(curlHello), `127.40.2.${i}`);
  // Train now that all of it is in the window (the model may also have trained on its own on
  // the way): the baseline to compare with.
  const before = await adminJson<Model>(h.adminPort, '/model');
  await adminJson(h.adminPort, '/retrain', {});
  const trained = await modelAfter(before.trainings + 1);
  t.ok(trained.trainingRows >= 80, `all of it was learnt (${trained.trainingRows} rows with the earlier tests')`);
  await adminJson(h.adminPort, '/feedback', { address: '127.40.2.3', label: 'bad' });
  const retrained = await modelAfter(trained.trainings + 1);
  t.equal(retrained.trainingRows, trained.trainingRows - 8, "the source's eight rows were left out");
  const d = await hello(withRandom(curlHello), '127.40.2.3');
  t.equal(d.action, 'reject', 'and its next handshake is refused');
});
