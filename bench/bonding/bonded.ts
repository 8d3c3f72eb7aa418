// The bonded-session rows of the bonding bench: an edge and an endpoint Weaver on the bed (see
// test/support/netns-bonded.ts), the client and origin in this process. A row that cannot be
// measured (the plugin failing to start, a transfer failing) is kept with the reason, so the
// table always shows what was and was not measured.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NetnsBed } from '../../test/support/netns-bed.ts';
import { channel, SESSIONS, startBondedPair, type BondedOptions, type BondedPair } from '../../test/support/netns-bonded.ts';
import { blobSha256, edgeAgent, fetchBlob, type Fetched } from '../../test/support/netns-origin.ts';
import { medianRun, type BondingReport } from './table.ts';

type Say = (line: string) => void;

const MODES = ['active-active', 'active-standby', 'weighted'] as const;
const EMULATED_BYTES = 80e6;
const FAILOVER_BYTES = 100e6;
const CUT_AFTER_MS = 2000;
const ROUNDS = 3;
/** A body that stops for this long fails its row instead of holding up the run. */
const BODY_TIMEOUT_MS = 10_000;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

const reason = (err: unknown) => (err as Error).message.split('\n')[0]!.slice(0, 160).replaceAll('|', '/');
const mb = (n: number) => `${(n / 1e6).toFixed(0)}`;

async function withPair<T>(bed: NetnsBed, opts: BondedOptions, fn: (pair: BondedPair) => Promise<T>): Promise<T> {
  const pair = await startBondedPair(bed, opts);
  try {
    return await fn(pair);
  } finally {
    await pair.stop();
  }
}

async function setMode(pair: BondedPair, mode: string): Promise<void> {
  const res = await pair.edgeAdmin('POST', `${SESSIONS}/main/mode`, { mode });
  if (res.status !== 200) throw new Error(`mode ${mode}: ${res.status} ${JSON.stringify(res.body)}`);
}

/** CPU seconds a process has used (user + system), from /proc. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** Fetches through the edge, noting how the endpoint's sends split over the paths and the Weavers' CPU. */
async function measured(bed: NetnsBed, pair: BondedPair, bytes: number, agent: ReturnType<typeof edgeAgent>): Promise<Fetched & { intact: boolean; split: string; cpu: string }> {
  const before = bed.paths.map((p) => bed.txBytes(bed.endpoint, p.dev));
  const cpuBefore = [pair.edge, pair.endpoint].map((w) => cpuSeconds(w.child.pid));
  const r = await fetchBlob(pair.edgeUrl, bytes, agent);
  const cpu = [pair.edge, pair.endpoint].map((w, i) => cpuSeconds(w.child.pid) - cpuBefore[i]!);
  const sent = bed.paths.map((p, i) => bed.txBytes(bed.endpoint, p.dev) - before[i]!);
  const total = sent.reduce((a, b) => a + b, 0) || 1;
  return {
    ...r,
    intact: r.status === 200 && r.bytes === bytes && r.sha256 === (await blobSha256(bytes)),
    split: sent.map((s) => `${Math.round((s / total) * 100)}%`).join(' / '),
    cpu: cpu.map((c) => `${Math.round((c / (r.ms / 1000)) * 100)}%`).join(' / '),
  };
}

type Measured = Awaited<ReturnType<typeof measured>>;

/** The median of `rounds` runs; a run that fails makes the row not intact and is named in `failures`. */
async function medianOf(rounds: number, run: () => Promise<Measured>): Promise<Measured & { failures: string; spread: string }> {
  const runs: Measured[] = [];
  const failed: string[] = [];
  for (let i = 0; i < rounds; i++) {
    try {
      runs.push(await run());
    } catch (err) {
      failed.push(reason(err));
    }
  }
  if (runs.length === 0) throw new Error(`every run failed: ${failed.join('; ')}`);
  const median = medianRun(runs);
  return { ...median, intact: median.intact && failed.length === 0, failures: failed.length ? `; **${failed.length} of ${rounds} runs failed: ${failed[0]}**` : '' };
}

export async function bondedModes(bed: NetnsBed, report: BondingReport, bytes: number, say: Say): Promise<void> {
  say('bonded session, each mode');
  try {
    await withPair(bed, { mode: 'active-active' }, async (pair) => {
      const agent = edgeAgent(BODY_TIMEOUT_MS);
      try {
        await fetchBlob(pair.edgeUrl, 1e6, agent);
        for (const mode of MODES) {
          say(`  ${mode}`);
          try {
            await setMode(pair, mode);
            const r = await medianOf(ROUNDS, () => measured(bed, pair, bytes, agent));
            const weights = mode === 'weighted' ? 'weights 1:1; ' : '';
            report.goodput.push({
              name: `bonded session, ${mode}`,
              mbit: r.mbit,
              intact: r.intact,
              note: `median of ${ROUNDS} (${r.spread}) × ${mb(bytes)} MB; ${weights}p0 / p1 share ${r.split}; CPU edge / endpoint ${r.cpu} of a core${r.failures}`,
            });
          } catch (err) {
            report.goodput.push({ name: `bonded session, ${mode}`, mbit: null, intact: null, note: `failed: ${reason(err)}` });
          }
        }
      } finally {
        await agent.close();
      }
    });
  } catch (err) {
    for (const mode of MODES) report.goodput.push({ name: `bonded session, ${mode}`, mbit: null, intact: null, note: `not measured: ${reason(err)}` });
  }
}

/** Cuts path `cut` `CUT_AFTER_MS` into a transfer; the longest gap in the body is the stall. */
async function failover(bed: NetnsBed, pair: BondedPair, mode: string, cut: number, report: BondingReport, say: Say): Promise<void> {
  const name = `failover stall, ${mode}, p${cut} cut mid-transfer`;
  say(`  ${name}`);
  const agent = edgeAgent(BODY_TIMEOUT_MS);
  const link = pair.links[cut]!;
  try {
    await setMode(pair, mode);
    await pair.waitSession((s) => s.channels.every((c) => c.state === 'up'));
    const fetching = measured(bed, pair, FAILOVER_BYTES, agent);
    fetching.catch(() => {}); // awaited below; a failure meanwhile must not surface as unhandled
    await sleep(CUT_AFTER_MS);
    const cutAt = performance.now();
    await link.blackhole();
    await pair.waitSession((s) => channel(s, pair.channels[cut]!).state === 'down', 10_000);
    const detectMs = performance.now() - cutAt;
    const r = await fetching;
    const restoredAt = performance.now();
    await link.restore();
    await pair.waitSession((s) => channel(s, pair.channels[cut]!).state === 'up', 15_000);
    const backMs = performance.now() - restoredAt;
    report.timings.push({
      name,
      value: `${r.maxGapMs.toFixed(0)} ms`,
      intact: r.intact,
      note: `longest gap in the client's body; down detected ${detectMs.toFixed(0)} ms after the cut, up ${backMs.toFixed(0)} ms after the restore; ${mb(FAILOVER_BYTES)} MB at ${r.mbit.toFixed(0)} Mbit/s overall`,
    });
  } catch (err) {
    await link.restore().catch(() => {});
    report.timings.push({ name, value: '—', intact: null, note: `failed: ${reason(err)}` });
  } finally {
    await agent.close();
  }
}

/** Both paths behind the link emulator: failover, then 0/0 against 5/60 ms one-way delays. */
export async function bondedEmulated(bed: NetnsBed, report: BondingReport, say: Say): Promise<void> {
  say('bonded session through the link emulator');
  try {
    await withPair(bed, { mode: 'active-active', links: [{ delayMs: 0 }, { delayMs: 0 }], probe: { intervalMs: 100, downAfterMs: 500 } }, async (pair) => {
      await failover(bed, pair, 'active-active', 1, report, say);
      await failover(bed, pair, 'active-standby', 0, report, say);
      await reordering(bed, pair, report, say);
    });
  } catch (err) {
    report.timings.push({ name: 'failover and reordering', value: '—', intact: null, note: `not measured: ${reason(err)}` });
  }
}

async function reordering(bed: NetnsBed, pair: BondedPair, report: BondingReport, say: Say): Promise<void> {
  const agent = edgeAgent(BODY_TIMEOUT_MS);
  try {
    await setMode(pair, 'active-active');
    const rows: { label: string; delays: [number, number] }[] = [
      { label: 'equal paths (emulator at 0 ms)', delays: [0, 0] },
      { label: 'asymmetric delays, 5 ms / 60 ms one way', delays: [5, 60] },
    ];
    const results: number[] = [];
    for (const { label, delays } of rows) {
      say(`  active-active, ${label}`);
      await Promise.all(pair.links.map((l, i) => l!.set({ delayMs: delays[i]! })));
      try {
        const r = await medianOf(ROUNDS, () => measured(bed, pair, EMULATED_BYTES, agent));
        results.push(r.mbit);
        report.goodput.push({
          name: `bonded active-active, ${label}`,
          mbit: r.mbit,
          intact: r.intact,
          note: `median of ${ROUNDS} (${r.spread}) × ${mb(EMULATED_BYTES)} MB; p0 / p1 share ${r.split}; CPU edge / endpoint ${r.cpu} of a core${r.failures}`,
        });
      } catch (err) {
        report.goodput.push({ name: `bonded active-active, ${label}`, mbit: null, intact: null, note: `failed: ${reason(err)}` });
      }
    }
    if (results.length === 2) {
      const cost = (1 - results[1]! / results[0]!) * 100;
      report.timings.push({ name: 'reordering cost, 5 ms / 60 ms vs 0 / 0', value: `${cost.toFixed(1)}% goodput`, intact: null, note: `${results[0]!.toFixed(0)} → ${results[1]!.toFixed(0)} Mbit/s` });
    }
  } finally {
    await Promise.all(pair.links.map((l) => l!.set({ delayMs: 0 }).catch(() => {})));
    await agent.close();
  }
}
