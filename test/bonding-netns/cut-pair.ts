// Two 100 Mbit/s paths, each behind a link emulator that can cut it, bonded in `mode`, and an
// undici agent for the edge: where the failover tests start.
import type { Test } from 'tap';
import { createBed } from '../support/netns-bed.ts';
import { startBondedPair, type BondMode } from '../support/netns-bonded.ts';
import { edgeAgent } from '../support/netns-origin.ts';

export async function startCutPair(t: Test, mode: BondMode) {
  const bed = await createBed(t, { paths: 2, rateMbit: 100 });
  const pair = await startBondedPair(bed, {
    mode,
    links: [{ delayMs: 0 }, { delayMs: 0 }],
    probe: { intervalMs: 100, downAfterMs: 500 },
  });
  t.teardown(() => pair.stop());
  const agent = edgeAgent();
  t.teardown(() => agent.close());
  return { bed, pair, agent };
}
