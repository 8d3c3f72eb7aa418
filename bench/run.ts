// `npm run bench`: Weaver side by side with its peers, in one run of interleaved rounds.
//
//   npm run bench                    5 rounds (about 12 minutes on 2 cores)
//   npm run bench -- --quick         1 round, short durations: a smoke run, results not kept
//   npm run bench -- --rounds 3 --only weaver,nginx --ecdsa --no-memory
//   npm run bench -- --memory-only --only weaver,hello
//   npm run bench -- --render bench/results/latest.json      (Markdown again from a run's JSON)
//
// Results: printed, and written to bench/results/YYYY-MM-DD.{md,json} and latest.{md,json}
// (a quick or narrowed run writes bench/results/quick.tmp and quick.json.tmp only, both gitignored).
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { h1KeepAlive, h2Streams, handshakes, H1_CONNECTIONS, H2_CONNECTIONS, H2_STREAMS, HS_CONNECTIONS, TLS13_SUITE, type Durations, type LoadResult } from './load.ts';
import { measureMemory } from './memory.ts';
import { startOrigin } from './origin.ts';
import { checkTarget } from './sanity.ts';
import { coreBusySeconds, cpuSeconds, freePort, processTree, stopAll, stopPinned, waitForPort, type Pinned } from './lib/proc.ts';
import { ensurePeers, ensureTools, makeCertificate, versions } from './setup.ts';
import { NOISY_PCT as TABLE_NOISY_PCT, toMarkdown, verdicts, type MetricId, type Report, type Sample, type TargetInfo } from './table.ts';
import { plainTls, weaverHello } from './targets/baselines.ts';
import { haproxy, nginx } from './targets/native-peers.ts';
import { fastifyProxy, nodeHttpProxy } from './targets/node-peers.ts';
import { weaver } from './targets/weaver.ts';
import type { BenchContext, Target } from './targets/types.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repo = dirname(benchDir);

/** Other processes' CPU (% of one core) during a measurement above which it is taken again. */
const NOISY_PCT = TABLE_NOISY_PCT;
/** Before measuring, wait for others to use less than this (% of one core)… */
const QUIET_PCT = 15;
/** …for at most this long each time… */
const QUIET_WAIT_S = 30;
/** …and at most this long in the whole run (waits and re-measurements stop when it is spent). */
const WAIT_BUDGET_S = 150;

function say(line: string): void {
  process.stdout.write(`[bench] ${line}\n`);
}

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    only: { type: 'string' },
    ecdsa: { type: 'boolean', default: false },
    'no-memory': { type: 'boolean', default: false },
    'memory-only': { type: 'boolean', default: false },
    'memory-connections': { type: 'string' },
    'h1-tool': { type: 'string' },
    keep: { type: 'boolean', default: false },
    render: { type: 'string' },
  },
  strict: true,
});

const quick = opts.quick!;
const rounds = opts['memory-only'] ? 0 : Number(opts.rounds ?? (quick ? 1 : 5));
const durations: Durations = quick ? { warmup: 1, measure: 3 } : { warmup: 2, measure: 6 };
/** Handshake tests are sized by count (see load.ts): aim at about this many seconds. */
const handshakeSeconds = quick ? 2 : 5;
const memoryConnections = Number(opts['memory-connections'] ?? (quick ? 2_000 : 10_000));
const only = opts.only?.split(',').map((s) => s.trim());

if (opts.render) {
  // Re-renders the Markdown of a run from its JSON (after a change to table.ts, say).
  process.stdout.write(toMarkdown(JSON.parse(readFileSync(opts.render, 'utf8')) as Report));
  process.exit(0);
}

const started = Date.now();
const work = mkdtempSync(join(tmpdir(), 'weaver-bench-'));
chmodSync(work, 0o755);
let stopping = false;
const cleanup = async (code: number) => {
  if (stopping) return;
  stopping = true;
  await stopAll();
  if (!opts.keep) rmSync(work, { recursive: true, force: true });
  process.exit(code);
};
process.on('SIGINT', () => void cleanup(130));
process.on('SIGTERM', () => void cleanup(143));

try {
  await main();
  await cleanup(0);
} catch (err) {
  process.stderr.write(`[bench] failed: ${(err as Error).stack ?? String(err)}\n[bench] logs in ${work}\n`);
  opts.keep = true;
  await cleanup(1);
}

async function main(): Promise<void> {
  const notes: string[] = [];
  const tools = ensureTools();
  notes.push(...tools.notes);
  if (!tools.h2load) throw new Error('h2load (Debian nghttp2-client) is required and could not be installed');
  const h1Tool = (opts['h1-tool'] as 'wrk' | 'h2load' | undefined) ?? (tools.wrk ? 'wrk' : 'h2load');
  const peersDir = join(benchDir, 'peers');
  mkdirSync(peersDir, { recursive: true });
  const peers = ensurePeers(peersDir);
  if (peers.note) notes.push(peers.note);
  const cert = makeCertificate(work, opts.ecdsa ? 'ecdsa' : 'rsa');
  // The project's pinned Node 24 (what `npm ci` installed), as `npm start` uses it.
  const pinned = join(repo, 'node_modules', '.bin', 'node');
  const node = existsSync(pinned) ? pinned : process.execPath;
  const ctx: BenchContext = { repo, work, cert, originPort: await freePort(), peersDir, peersOk: peers.ok, tools, node };
  say(`scratch dir ${work}; node ${process.version}; certificate ${cert.kind}`);

  const origin = startOrigin(ctx);
  await waitForPort(ctx.originPort, origin.proc);
  const originPids = processTree(origin.proc.pid);
  say(`origin: ${origin.kind} on port ${ctx.originPort} (core 1)`);

  const all = [weaver, nodeHttpProxy, fastifyProxy, nginx, haproxy].filter((t) => !only || only.includes(t.id));
  const pair = [plainTls, weaverHello].filter((t) => !only || only.includes(t.id) || only.includes('hello'));
  const infos = new Map<string, TargetInfo>();
  const ports = new Map<string, number>();
  const running = new Map<string, Pinned>();
  for (const t of [...all, ...pair]) {
    const info: TargetInfo = { id: t.id, label: t.label, kind: t.kind, h2: t.h2 };
    infos.set(t.id, info);
    info.skipped = t.unavailable(ctx);
    if (info.skipped) {
      say(`${t.id}: skipped (${info.skipped})`);
      continue;
    }
    ports.set(t.id, await freePort());
  }
  // Everything starts at once and stays up through the rounds (idle ones cost ~nothing).
  for (const t of [...all, ...pair]) {
    const port = ports.get(t.id);
    if (port === undefined) continue;
    const proc = t.start(ctx, port);
    running.set(t.id, proc);
    try {
      await waitForPort(port, proc);
      await checkTarget(port, t.h2);
      say(`${t.id}: up on port ${port} (pid ${proc.pid}), answers and does not resume TLS sessions`);
    } catch (err) {
      infos.get(t.id)!.skipped = `failed its check: ${(err as Error).message.split('\n').filter(Boolean).slice(0, 3).join(' ')}`;
      say(`${t.id}: ${infos.get(t.id)!.skipped}`);
      await stopPinned(proc);
      running.delete(t.id);
    }
  }
  const live = all.filter((t) => running.has(t.id));
  const livePair = pair.filter((t) => running.has(t.id));

  const samples: Sample[] = [];
  const hsRate = new Map<string, number>();

  /** CPU (% of one core) used by processes outside the bench over `ms`: other work on the machine. */
  const foreignOver = async (ms: number): Promise<number> => {
    const ours = () => [...originPids, ...[...running.values()].flatMap((p) => processTree(p.pid))];
    const pids = ours();
    const c0 = coreBusySeconds();
    const o0 = cpuSeconds(pids);
    const s0 = process.cpuUsage();
    await sleep(ms);
    const busy = coreBusySeconds().reduce((a, b, i) => a + b - (c0[i] ?? 0), 0);
    const self = process.cpuUsage(s0);
    const used = cpuSeconds(pids) - o0 + (self.user + self.system) / 1e6;
    return Math.max(0, ((busy - used) / (ms / 1000)) * 100);
  };
  /**
   * This machine may be shared (other sessions' test suites): before a measurement, wait until
   * others use less than QUIET_PCT of a core for a second, for at most QUIET_WAIT_S, and within
   * a budget for the whole run so a busy machine cannot stretch it without end.
   */
  let waitBudgetS = quick ? 30 : WAIT_BUDGET_S;
  const waitQuiet = async (): Promise<void> => {
    let pct = await foreignOver(500);
    if (pct < QUIET_PCT || waitBudgetS <= 0) return;
    say(`  waiting for a quieter machine (${pct.toFixed(0)}% of a core used outside the bench)`);
    const t0 = Date.now();
    while (pct >= QUIET_PCT && waitBudgetS > 0 && Date.now() - t0 < QUIET_WAIT_S * 1000) {
      pct = await foreignOver(1_000);
      waitBudgetS -= 1;
    }
  };

  /** One measurement with CPU accounting; measured again (at most twice) if other load was high. */
  const measure = async (round: number, t: Target, metric: MetricId, run: () => Promise<LoadResult>): Promise<void> => {
    const proc = running.get(t.id)!;
    let sample: Sample | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      await waitQuiet();
      const tree = processTree(proc.pid);
      const t0 = performance.now();
      const cores0 = coreBusySeconds();
      const target0 = cpuSeconds(tree);
      const origin0 = cpuSeconds(originPids);
      const self0 = process.cpuUsage();
      let result: LoadResult | undefined;
      let error: string | undefined;
      try {
        result = await run();
      } catch (err) {
        error = (err as Error).message;
      }
      const wall = (performance.now() - t0) / 1000;
      const cores1 = coreBusySeconds();
      const busy = cores1.reduce((a, b, i) => a + b - (cores0[i] ?? 0), 0);
      const targetCpu = cpuSeconds(tree) - target0;
      const self = process.cpuUsage(self0);
      const ours = targetCpu + (cpuSeconds(originPids) - origin0) + (result?.clientCpu ?? 0) + (self.user + self.system) / 1e6;
      sample = {
        round,
        target: t.id,
        metric,
        result,
        error,
        targetCpuPct: (targetCpu / wall) * 100,
        cpuUsPerOp: result && result.rate > 0 ? (targetCpu / wall / result.rate) * 1e6 : undefined,
        foreignCpuPct: Math.max(0, ((busy - ours) / wall) * 100),
        retried: attempt > 0,
      };
      if (sample.foreignCpuPct <= NOISY_PCT || error || waitBudgetS <= 0) break;
      // Measuring again is spent from the same budget as waiting.
      waitBudgetS -= wall;
      say(`  ${t.id} ${metric}: ${sample.foreignCpuPct.toFixed(0)}% of a core used outside the bench meanwhile; measuring again`);
    }
    samples.push(sample!);
    const r = sample!.result;
    say(
      `  ${t.id.padEnd(16)} ${metric.padEnd(5)} ` +
        (r
          ? `${r.rate.toFixed(0).padStart(7)}/s${r.p99Ms !== undefined ? ` p99 ${r.p99Ms.toFixed(2)} ms` : ''}${r.maxMs !== undefined && r.maxMs > 1_000 ? ` slowest ${(r.maxMs / 1000).toFixed(1)} s` : ''}  errors ${r.errors} non-2xx ${r.non2xx}  target cpu ${sample!.targetCpuPct.toFixed(0)}%  foreign ${sample!.foreignCpuPct.toFixed(0)}%`
          : `failed: ${sample!.error?.split('\n')[0]}`),
    );
  };

  const handshakeRun = async (t: Target, round: number, metric: MetricId) => {
    const port = ports.get(t.id)!;
    try {
      if (!hsRate.has(t.id)) {
        // First time: a short calibration run, which also warms the handshake path.
        const cal = await handshakes(port, 500);
        hsRate.set(t.id, cal.rate);
      }
      await handshakes(port, Math.max(200, Math.round(hsRate.get(t.id)! * Math.min(1, durations.warmup))));
    } catch (err) {
      // The measurement below reports it (or succeeds): only a guess of the rate is missing.
      say(`  ${t.id} ${metric}: warm-up failed: ${(err as Error).message.split('\n')[0]}`);
    }
    const rate = hsRate.get(t.id) ?? 1_000;
    await measure(round, t, metric, async () => {
      const r = await handshakes(port, Math.max(500, Math.round(rate * handshakeSeconds)));
      hsRate.set(t.id, r.rate);
      return r;
    });
  };

  const rotate = <T>(list: readonly T[], by: number): T[] => list.map((_, i) => list[(i + by) % list.length]!);
  for (let round = 0; round < rounds; round++) {
    say(`round ${round + 1} of ${rounds}`);
    for (const t of rotate(live, round)) await measure(round, t, 'h1', () => h1KeepAlive(ports.get(t.id)!, durations, h1Tool, work));
    for (const t of rotate(live.filter((x) => x.h2), round)) await measure(round, t, 'h2', () => h2Streams(ports.get(t.id)!, durations));
    for (const t of rotate(live, round)) await handshakeRun(t, round, 'hs');
    for (const t of rotate(livePair, round)) await handshakeRun(t, round, 'hello');
  }
  for (const proc of running.values()) await stopPinned(proc);
  running.clear();

  const memory: Report['memory'] = {};
  if (!opts['no-memory']) {
    say(`memory: ${memoryConnections} idle TLS connections against each freshly started target`);
    for (const t of [...live, ...livePair.filter((x) => x.id === 'plain-tls')]) {
      try {
        const m = await measureMemory(ctx, t, await freePort(), Math.min(memoryConnections, t.maxIdleConnections ?? Infinity));
        memory[t.id] = m;
        say(`  ${t.id.padEnd(16)} ${m.kibPerConnection.toFixed(1)} KiB/connection (${m.rssBeforeKiB} → ${m.rssAfterKiB} KiB, ${m.connections} open)`);
      } catch (err) {
        memory[t.id] = { error: (err as Error).message.split('\n')[0]! };
        say(`  ${t.id}: memory test failed: ${(err as Error).message}`);
      }
    }
  }
  await stopPinned(origin.proc);

  const date = new Date().toISOString().slice(0, 10);
  const report: Report = {
    date,
    quick,
    rounds,
    durations: { warmupS: durations.warmup, measureS: durations.measure, handshakeS: handshakeSeconds },
    load: {
      h1:
        h1Tool === 'wrk'
          ? `wrk -t1 -c${H1_CONNECTIONS} --latency (keep-alive; a separate ${durations.warmup} s wrk run warms up first); p99 from wrk's latency distribution.`
          : `h2load --h1 -t1 -c${H1_CONNECTIONS} (keep-alive) with --warm-up-time; p99 from its per-request log.`,
      h2: `h2load -t1 -c${H2_CONNECTIONS} -m${H2_STREAMS} (ALPN h2, ${H2_CONNECTIONS * H2_STREAMS} streams in flight) with --warm-up-time. h2load offers only ${TLS13_SUITE} (wrk's first choice too), so every target encrypts alike.`,
      hs: `h2load --h1 -t1 -c${HS_CONNECTIONS} -n <count> -H "Connection: close": every request on a new TCP connection with a full TLS handshake; the count is sized from the previous rate to last about ${handshakeSeconds} s, after a warm-up run.`,
    },
    placement:
      'target pinned to core 0 (taskset -c 0, one worker process or thread); load generator (wrk/h2load, one thread) and origin pinned to core 1. ' +
      'The machine has 2 cores, so the load generator and the origin share one: a target much faster than the Node ones (nginx, haproxy) can be held back by core 1, which makes its ratios conservative.',
    origin: origin.kind,
    certificate: cert.kind,
    versions: versions(tools),
    targets: all.map((t) => infos.get(t.id)!),
    baselines: pair.map((t) => infos.get(t.id)!),
    samples,
    memory,
    memoryConnections,
    notes,
    elapsedS: (Date.now() - started) / 1000,
  };
  const md = toMarkdown(report);
  process.stdout.write(`\n${md}\n`);
  const results = join(benchDir, 'results');
  mkdirSync(results, { recursive: true });
  if (quick || only || opts.rounds || opts['memory-only']) {
    writeFileSync(join(results, 'quick.tmp'), md);
    writeFileSync(join(results, 'quick.json.tmp'), `${JSON.stringify(report, null, 2)}\n`);
    say(`partial run: written to bench/results/quick.tmp and quick.json.tmp only`);
  } else {
    const json = `${JSON.stringify(report, null, 2)}\n`;
    writeFileSync(join(results, `${date}.md`), md);
    writeFileSync(join(results, `${date}.json`), json);
    writeFileSync(join(results, 'latest.md'), md);
    writeFileSync(join(results, 'latest.json'), json);
    say(`written: bench/results/${date}.md, ${date}.json, latest.md, latest.json`);
  }
  const missed = verdicts(report).filter((v) => v.pass === false);
  if (missed.length > 0) say(`targets missed: ${missed.map((v) => v.what).join('; ')}`);
}
