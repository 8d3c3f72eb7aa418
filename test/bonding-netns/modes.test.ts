// HTTP through edge Weaver → bonded session over two 100 Mbit/s paths → endpoint Weaver →
// origin, across network namespaces, in each mode (switched at run time through the admin
// API): downloads and uploads spanning thousands of frames arrive intact (SHA-256), and each
// mode puts the bytes on the paths it should.
import t from 'tap';
import { createBed, type NetnsBed } from '../support/netns-bed.ts';
import { SESSIONS, startBondedPair, type BondedPair } from '../support/netns-bonded.ts';
import { blobSha256, edgeAgent, fetchBlob } from '../support/netns-origin.ts';
import { upload } from './upload.ts';

const DOWN = 16 << 20;
const UP = 4 << 20;

/** Fetches through the edge; returns the result and each path's share of the endpoint's sends. */
async function fetchSplit(bed: NetnsBed, pair: BondedPair, agent: ReturnType<typeof edgeAgent>) {
  const before = bed.paths.map((p) => bed.txBytes(bed.endpoint, p.dev));
  const r = await fetchBlob(pair.edgeUrl, DOWN, agent);
  const sent = bed.paths.map((p, i) => bed.txBytes(bed.endpoint, p.dev) - before[i]!);
  const total = sent.reduce((a, b) => a + b, 0);
  return { r, share: sent.map((s) => s / total) };
}

t.test('each mode carries HTTP intact across the namespaces', async (t) => {
  const bed = await createBed(t, { paths: 2, rateMbit: 100 });
  const pair = await startBondedPair(bed, { mode: 'active-active' });
  t.teardown(() => pair.stop());
  const agent = edgeAgent();
  t.teardown(() => agent.close());
  const expected = await blobSha256(DOWN);
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

  const aa = await fetchSplit(bed, pair, agent);
  t.equal(aa.r.status, 200, 'active-active: 200');
  t.equal(aa.r.sha256, expected, `active-active: ${DOWN} bytes intact`);
  t.ok(aa.share.every((s) => s > 0.15), `active-active: both paths carry the body (${aa.share.map(pct).join(' / ')})`);
  const up = await upload(pair.edgeUrl, UP, agent);
  t.same(up.got, up.sent, 'active-active: an upload arrives intact at the origin');

  const standby = await pair.edgeAdmin('POST', `${SESSIONS}/main/mode`, { mode: 'active-standby' });
  t.equal(standby.status, 200, 'mode changed to active-standby at run time');
  t.match(standby.body, { mode: 'active-standby' });
  const as = await fetchSplit(bed, pair, agent);
  t.equal(as.r.sha256, expected, 'active-standby: body intact');
  t.ok(as.share[0]! > 0.9, `active-standby: the primary carries it (${as.share.map(pct).join(' / ')})`);

  t.equal((await pair.edgeAdmin('POST', `${SESSIONS}/main/mode`, { mode: 'weighted' })).status, 200, 'mode changed to weighted');
  const weights = await pair.edgeAdmin('POST', `${SESSIONS}/main/weights`, { weights: { [pair.channels[0]!]: 3, [pair.channels[1]!]: 1 } });
  t.equal(weights.status, 200, 'weights set at run time');
  const w = await fetchSplit(bed, pair, agent);
  t.equal(w.r.sha256, expected, 'weighted 3:1: body intact');
  t.ok(w.share[0]! > 0.6 && w.share[0]! < 0.9, `weighted 3:1: about three quarters on path 0 (${w.share.map(pct).join(' / ')})`);
  const wUp = await upload(pair.edgeUrl, UP, agent);
  t.same(wUp.got, wUp.sent, 'weighted: an upload arrives intact');

  const bad = await pair.edgeAdmin('POST', `${SESSIONS}/main/mode`, { mode: 'round-robin' });
  t.equal(bad.status, 400, 'an unknown mode is refused');
  t.equal((await pair.session()).mode, 'weighted', '…and the mode stays');
});
