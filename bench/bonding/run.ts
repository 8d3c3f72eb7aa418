// `npm run bench:bonding`: on a netns bed with two 100 Mbit/s paths, in one run of two to three
// minutes — goodput of one path alone (plain TCP), of MPTCP on both (`mptcpize run`), and of a
// bonded session in each mode; the link emulator's own headroom; the failover stall when a path
// is cut mid-transfer; the cost of asymmetric delays (5 ms / 60 ms). Every transfer is checked
// with SHA-256. Prints a Markdown table and writes it to bench/results/bonding-latest.md.
// Needs root (network namespaces), iproute2 and mptcpd.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLinkEmulator } from '../../test/support/link-emulator.ts';
import { createBed, type NetnsBed } from '../../test/support/netns-bed.ts';
import { blobSha256, edgeAgent, fetchBlob, startBlobOrigin } from '../../test/support/netns-origin.ts';
import { tcpTransfer } from '../../test/support/netns-tcp.ts';
import { configureMptcp, mptcpizeMissing, mptcpTransfer } from './mptcp.ts';
import { bondedEmulated, bondedModes } from './bonded.ts';
import { medianRun, toMarkdown, type BondingReport } from './table.ts';

const RATE_MBIT = 100;
const ONE_PATH_BYTES = 50e6;
const TWO_PATH_BYTES = 100e6;
const RELAY_SINK_PORT = 5301;
const ROUNDS = 3;

const say = (line: string) => process.stdout.write(`[bench:bonding] ${line}\n`);
const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;

async function plainRows(bed: NetnsBed, report: BondingReport): Promise<void> {
  const p0 = bed.paths[0]!;
  say('one path, plain TCP');
  const one = await tcpTransfer(bed, { host: p0.endpointAddr, bind: p0.edgeAddr, bytes: ONE_PATH_BYTES });
  report.goodput.push({ name: 'one path alone, plain TCP', mbit: one.mbit, intact: one.intact, note: `${mb(ONE_PATH_BYTES)} on p0` });

  // The emulator must not be what limits a path: through it at 0 ms on the shaped path, and
  // on the path with tbf removed, where only the relay's own speed counts.
  say('link emulator headroom');
  const link = await startLinkEmulator(bed, 0, RELAY_SINK_PORT);
  try {
    const shaped = await tcpTransfer(bed, { host: link.edgeHost, port: link.port, sinkPort: RELAY_SINK_PORT, bytes: ONE_PATH_BYTES });
    bed.shape(0, null);
    const free = await tcpTransfer(bed, { host: link.edgeHost, port: link.port, sinkPort: RELAY_SINK_PORT, bytes: 500e6 });
    report.goodput.push({
      name: 'one path through the link emulator (0 ms)',
      mbit: shaped.mbit,
      intact: shaped.intact && free.intact,
      note: `the emulator alone, tbf removed: ${free.mbit.toFixed(0)} Mbit/s`,
    });
  } finally {
    bed.shape(0, RATE_MBIT);
    await link.close();
  }

  const missing = mptcpizeMissing();
  if (missing) {
    report.goodput.push({ name: 'MPTCP, both paths', mbit: null, intact: null, note: missing });
    return;
  }
  say('MPTCP');
  const runs = [];
  try {
    configureMptcp(bed);
    for (let i = 0; i < ROUNDS; i++) runs.push(await mptcpTransfer(bed, TWO_PATH_BYTES));
  } catch (err) {
    report.goodput.push({ name: 'MPTCP, both paths', mbit: null, intact: null, note: `failed: ${(err as Error).message.split('\n')[0]}` });
    return;
  }
  const mp = medianRun(runs);
  report.goodput.push({
    name: 'MPTCP (mptcpize run), both paths',
    mbit: mp.mbit,
    intact: mp.intact,
    note: `median of ${ROUNDS} (${mp.spread}) × ${mb(TWO_PATH_BYTES)}; subflows carrying ≥ 20%: ${Math.min(...runs.map((r) => r.subflowsUsed))}; on p0 / p1: ${mp.onPaths.map(mb).join(' / ')}`,
  });
}

/** The bonded rows' client and origin share this process: they alone must be far faster than the paths. */
async function harnessRow(report: BondingReport): Promise<void> {
  say('client and origin alone');
  const origin = await startBlobOrigin('127.0.0.1');
  const agent = edgeAgent();
  try {
    const bytes = 200e6;
    const r = await fetchBlob(`http://127.0.0.1:${origin.port}`, bytes, agent);
    const intact = r.status === 200 && r.sha256 === (await blobSha256(bytes));
    report.goodput.push({ name: 'client and origin of the bonded rows, alone', mbit: r.mbit, intact, note: `${mb(bytes)} over loopback HTTP in this process: the harness's own ceiling`, ofPaths: false });
  } finally {
    await agent.close();
    await origin.close();
  }
}

async function main(): Promise<void> {
  const report: BondingReport = { date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC', paths: 2, rateMbit: RATE_MBIT, goodput: [], timings: [], notes: [] };
  const started = Date.now();
  const bed = await createBed(null, { paths: 2, rateMbit: RATE_MBIT });
  try {
    await plainRows(bed, report);
    await harnessRow(report);
    await bondedModes(bed, report, TWO_PATH_BYTES, say);
    await bondedEmulated(bed, report, say);
  } finally {
    await bed.destroy();
  }
  report.notes.push(
    `TCP over a ${RATE_MBIT} Mbit/s tbf carries at most ~95.6% of it as payload (1448 of 1514 bytes per full frame), so 95.6% is the ceiling of every row.`,
    `Run took ${((Date.now() - started) / 1000).toFixed(0)} s. Reproduce: \`npm run bench:bonding\` (root; iproute2, mptcpd).`,
  );
  const md = toMarkdown(report);
  process.stdout.write(`\n${md}`);
  const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'bonding-latest.md');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, md);
  say(`written to ${out}`);
}

await main();
