// Paths of very different delay (5 ms and 60 ms one way, with jitter on the slow one): frames
// of one stream arrive out of order across the channels, and the endpoint and edge must put
// them back. Downloads and uploads arrive in order and intact, in active-active and weighted.
import t from 'tap';
import { createBed } from '../support/netns-bed.ts';
import { SESSIONS, startBondedPair } from '../support/netns-bonded.ts';
import { blobSha256, edgeAgent, fetchBlob } from '../support/netns-origin.ts';
import { upload } from './upload.ts';

const DOWN = 16 << 20;
const UP = 4 << 20;

t.test('asymmetric delays: streams arrive in order and intact', async (t) => {
  const bed = await createBed(t, { paths: 2, rateMbit: 100 });
  const pair = await startBondedPair(bed, {
    mode: 'active-active',
    links: [{ delayMs: 5 }, { delayMs: 60, jitterMs: 10 }],
    probe: { intervalMs: 100, downAfterMs: 1000 },
  });
  t.teardown(() => pair.stop());
  const agent = edgeAgent();
  t.teardown(() => agent.close());
  const expected = await blobSha256(DOWN);

  // The slow channel's first probe answers take a round trip of 120 ms and more to arrive.
  const session = await pair.waitSession((s) => s.channels.every((c) => Number(c.rttMs) > 0), 5000);
  const rtt = session.channels.map((c) => Number(c.rttMs));
  t.ok(rtt[1]! > rtt[0]! + 60, `the API sees the slow path's round trip (${rtt.map((x) => x.toFixed(1)).join(' / ')} ms)`);

  // Several streams at once, so frames of different streams interleave on both channels.
  const results = await Promise.all([0, 1, 2].map(() => fetchBlob(pair.edgeUrl, DOWN, agent)));
  for (const [i, r] of results.entries()) t.equal(r.sha256, expected, `active-active: stream ${i} in order and intact`);
  const up = await upload(pair.edgeUrl, UP, agent);
  t.same(up.got, up.sent, 'active-active: upload in order and intact');

  t.equal((await pair.edgeAdmin('POST', `${SESSIONS}/main/mode`, { mode: 'weighted' })).status, 200, 'weighted mode');
  const w = await fetchBlob(pair.edgeUrl, DOWN, agent);
  t.equal(w.sha256, expected, 'weighted 1:1 over 5 ms / 60 ms: in order and intact');
});
