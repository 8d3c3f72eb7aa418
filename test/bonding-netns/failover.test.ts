// A path cut in the middle of a large transfer (the link emulator blackholes it: no FIN, no
// RST, like a cut cable): the transfer completes intact with no error the client can see, the
// channel shows as down in the edge's API and at once in its metrics, and comes back up,
// carrying traffic again, once the path returns.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { channel, SESSIONS, type BondedPair } from '../support/netns-bonded.ts';
import { blobSha256, fetchBlob } from '../support/netns-origin.ts';
import { startCutPair } from './cut-pair.ts';

const BYTES = 48 << 20;
const STATE_VALUE: Record<string, number> = { up: 2, degraded: 1, down: 0, connecting: 0 };

/** `weaver_bonding_upstream_channel_state` of channel `name` in one scrape. */
async function channelStateMetric(pair: BondedPair, name: string): Promise<number | undefined> {
  const sample = new RegExp(`^weaver_bonding_upstream_channel_state\\{[^}]*channel="${name}"[^}]*\\} (\\d+)$`, 'm');
  const m = sample.exec(String((await pair.edgeAdmin('GET', '/metrics')).body));
  return m ? Number(m[1]) : undefined;
}

t.test('a path cut mid-transfer: no client-visible error, down in the API, back when restored', async (t) => {
  const { bed, pair, agent } = await startCutPair(t, 'active-active');
  const cut = pair.channels[1]!;
  const link = pair.links[1]!;

  const p1Before = bed.txBytes(bed.endpoint, 'p1');
  const fetching = fetchBlob(pair.edgeUrl, BYTES, agent);
  fetching.catch(() => {}); // awaited below; a failure must not surface early as unhandled
  // Cut once the body is well under way on both paths.
  const deadline = Date.now() + 10_000;
  while (bed.txBytes(bed.endpoint, 'p1') - p1Before < 4 << 20 && Date.now() < deadline) await sleep(20);
  t.ok(bed.txBytes(bed.endpoint, 'p1') - p1Before >= 4 << 20, 'path 1 was carrying the body when it was cut');
  await link.blackhole();
  const down = await pair.waitSession((s) => channel(s, cut).state === 'down', 10_000);
  t.equal(channel(down, pair.channels[0]!).state, 'up', 'the other channel stays up');
  // The metric is set as the state changes: the first scrape after the API shows it agrees.
  t.equal(await channelStateMetric(pair, cut), 0, 'the metric shows it down (0)');
  const r = await fetching;
  t.equal(r.status, 200, 'the client got its answer');
  t.equal(r.bytes, BYTES, 'all of it');
  t.equal(r.sha256, await blobSha256(BYTES), 'intact and in order');
  t.equal(channel(await pair.session(), cut).state, 'down', 'the cut channel is still down while the path is cut');

  await link.restore();
  await pair.waitSession((s) => channel(s, cut).state === 'up', 15_000);
  t.pass('the channel is up again once the path returns');
  // Probes lost during the cut may flip it between up and degraded: the metric must match the
  // API just before or just after the scrape.
  const before = channel(await pair.session(), cut).state;
  const metric = await channelStateMetric(pair, cut);
  const later = channel(await pair.session(), cut).state;
  t.ok([before, later].some((s) => STATE_VALUE[s] === metric), `and the metric agrees with the API (${metric}: ${before}, ${later})`);
  t.ok(metric === 2 || metric === 1, 'live');
  const p1Again = bed.txBytes(bed.endpoint, 'p1');
  const again = await fetchBlob(pair.edgeUrl, 8 << 20, agent);
  t.equal(again.sha256, await blobSha256(8 << 20), 'a transfer after the restore is intact');
  t.ok(bed.txBytes(bed.endpoint, 'p1') - p1Again > 1 << 20, 'and the restored path carries part of it');

  const endpointView = await pair.endpointAdmin('GET', SESSIONS);
  t.match(endpointView.body, { sessions: [{ name: 'edge-1/main', role: 'endpoint' }] }, 'the endpoint lists the session too');
});
