// Active-standby across the namespaces: the primary path is cut (blackholed) in the middle of
// a transfer, the standby takes over with no error the client can see, and traffic fails back
// to the primary once it has been up for failbackMs after the path returns.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { channel } from '../support/netns-bonded.ts';
import { blobSha256, fetchBlob } from '../support/netns-origin.ts';
import { startCutPair } from './cut-pair.ts';

t.test('active-standby: the primary cut mid-transfer, the standby takes over, failback after restore', async (t) => {
  const { bed, pair, agent } = await startCutPair(t, 'active-standby');
  const [primary, standby] = pair.channels as [string, string];
  const bytes = 24 << 20;

  const p0Before = bed.txBytes(bed.endpoint, 'p0');
  const fetching = fetchBlob(pair.edgeUrl, bytes, agent);
  fetching.catch(() => {});
  const deadline = Date.now() + 10_000;
  while (bed.txBytes(bed.endpoint, 'p0') - p0Before < 4 << 20 && Date.now() < deadline) await sleep(20);
  const p1Before = bed.txBytes(bed.endpoint, 'p1');
  await pair.links[0]!.blackhole();
  await pair.waitSession((s) => channel(s, primary).state === 'down', 10_000);
  const r = await fetching;
  t.equal(r.status, 200, 'the client got its answer');
  t.equal(r.sha256, await blobSha256(bytes), 'intact and in order');
  t.ok(bed.txBytes(bed.endpoint, 'p1') - p1Before > 4 << 20, `the standby (${standby}) carried the rest`);

  await pair.links[0]!.restore();
  await pair.waitSession((s) => channel(s, primary).state === 'up', 15_000);
  // failbackMs is 1000 in the pair's config: the primary must stay up that long first.
  await sleep(1500);
  const before = bed.paths.map((p) => bed.txBytes(bed.endpoint, p.dev));
  const again = await fetchBlob(pair.edgeUrl, 8 << 20, agent);
  const sent = bed.paths.map((p, i) => bed.txBytes(bed.endpoint, p.dev) - before[i]!);
  t.equal(again.sha256, await blobSha256(8 << 20), 'a transfer after the failback is intact');
  t.ok(sent[0]! > 0.9 * (sent[0]! + sent[1]!), `and goes on the primary again (${sent.join(' / ')} bytes)`);
});
