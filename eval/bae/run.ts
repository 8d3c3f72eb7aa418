// `npm run eval:bae`: replays a labelled mix of benign and attack traffic on loopback against a
// real Weaver running bae, each simulated client on its own 127.x.y.z source, and prints:
//   detection — AUROC, detection rate at 1% false positives, rates at the configured
//               threshold, recall per attack kind, false positives per benign kind;
//   cost      — new-handshake rate with the plugin off and on (observe-only, so every
//               handshake is analysed and none is routed or refused);
//   memory    — 1,000,000 client profiles (eval/bae/memory.ts, in a process of its own).
// Shared data is read relative to the repo (../shared/data). Takes a few minutes.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { sharedDataPath } from '../../test/support/shared-data.ts';
import { atThreshold, auroc, detectionAtFp, type Scored } from './stats.ts';
import { ATTACKS, attackEpisodes, benignEpisodes, rand, type Episode, type Kind } from './traffic.ts';
import { repoRoot, startWeaver } from './weaver.ts';

const THRESHOLD = 0.6;
const lists = ['ja3/sslbl_ja3_fingerprints.csv', 'ja3/salesforce_osx-nix-ja3.csv', 'ja3/trisul_ja3fingerprint.jsonl', 'ja4/ja4plus-mapping.csv', 'ja4/ja4db_verified.json'].map(sharedDataPath);
// The detection run retrains every 5 s so the short replay sees a model trained on it; the cost
// run keeps the default (60 s), as a deployment would.
const baeOptions = (extra = '', threshold = THRESHOLD, retrainMs = 5_000) =>
  `{ threshold: ${threshold}, rejectThreshold: ${Math.max(threshold, 0.9)}, lists: ${JSON.stringify(lists)}, model: { minSamples: 300, retrainIntervalMs: ${retrainMs} }${extra} }`;

interface Decision {
  phase: string;
  conn: string;
  address: string;
  score: number;
  action: string;
  reasons: Array<{ signal: string }>;
}

const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
const out = (s = '') => process.stdout.write(`${s}\n`);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

async function pool(tasks: Array<() => Promise<void>>, concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < tasks.length) await tasks[next++]!().catch(() => undefined);
    }),
  );
}

async function detection(): Promise<void> {
  const w = await startWeaver({ bae: baeOptions(), originPort: origin.port });
  const decisions = new Map<string, Decision>();
  const collect = async () => {
    const res = await fetch(`http://127.0.0.1:${w.adminPort}/api/plugins/bae/decisions?limit=5000`);
    for (const d of (await res.json()) as Decision[]) decisions.set(`${d.phase}|${d.conn}`, d);
  };
  const poller = setInterval(() => void collect().catch(() => undefined), 300);
  try {
    const benign = benignEpisodes().sort(() => rand() - 0.5);
    const attacks = attackEpisodes();
    const label = new Map<string, Kind>();
    const what = new Map<string, string>();
    for (const e of [...benign, ...attacks]) {
      for (const s of e.sources) {
        label.set(s, e.kind);
        what.set(s, e.what ?? e.kind);
      }
    }
    const started = Date.now();
    // Warm-up: ordinary traffic first, so the model has something to learn from.
    const warm = benign.slice(0, Math.floor(benign.length * 0.4));
    await pool(warm.map((e) => () => e.run(w.port)), 40);
    let model: { state: string; samples: number } = { state: '', samples: 0 };
    for (let i = 0; i < 100 && model.state !== 'ready'; i++) {
      model = (await (await fetch(`http://127.0.0.1:${w.adminPort}/api/plugins/bae/model`)).json()) as typeof model;
      if (model.state !== 'ready') await new Promise((r) => setTimeout(r, 100));
    }
    out(`warm-up: ${model.samples} handshakes, model ${model.state}`);
    // The mix: the rest of the benign personas and every attack, at the same time.
    const rest = benign.slice(warm.length);
    await Promise.all([
      pool(rest.map((e) => () => e.run(w.port)), 40),
      ...attacks.map(async (e: Episode, i) => {
        await new Promise((r) => setTimeout(r, i * 700));
        await e.run(w.port);
      }),
    ]);
    await collect();
    out(`mix replayed in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // One row per connection: its highest score over the handshake and its requests.
    const perConn = new Map<string, { kind: Kind; address: string; at: string; score: number; flagged: boolean }>();
    for (const d of decisions.values()) {
      const kind = label.get(d.address);
      if (!kind) continue;
      const row = perConn.get(d.conn) ?? { kind, address: d.address, at: (d as { at?: string }).at ?? '', score: 0, flagged: false };
      row.score = Math.max(row.score, d.score);
      row.flagged ||= d.action !== 'primary';
      perConn.set(d.conn, row);
    }
    const rows = [...perConn.values()];
    const scored: Scored[] = rows.map((r) => ({ attack: (ATTACKS as readonly string[]).includes(r.kind), score: r.score }));
    const at1 = detectionAtFp(scored, 0.01);
    const op = atThreshold(scored, THRESHOLD);
    const flaggedAttack = rows.filter((r) => ATTACKS.includes(r.kind));
    const flaggedBenign = rows.filter((r) => !ATTACKS.includes(r.kind));
    out();
    out('| detection (per connection) | value |');
    out('|---|---|');
    out(`| connections scored | ${rows.length} (${flaggedBenign.length} benign, ${flaggedAttack.length} attack) |`);
    out(`| AUROC | ${auroc(scored).toFixed(4)} |`);
    out(`| detection rate at ≤ 1% FP | ${pct(at1.tpr)} (FP ${pct(at1.fpr)}, score > ${at1.threshold.toFixed(3)}) |`);
    out(`| at threshold ${THRESHOLD} (strict pool or refused) | detection ${pct(flaggedAttack.filter((r) => r.flagged).length / Math.max(1, flaggedAttack.length))}, FP ${pct(flaggedBenign.filter((r) => r.flagged).length / Math.max(1, flaggedBenign.length))} |`);
    out(`| score ≥ ${THRESHOLD} | detection ${pct(op.tpr)}, FP ${pct(op.fpr)} |`);
    out();
    out('| kind | connections | strict or refused | mean score |');
    out('|---|---|---|---|');
    for (const kind of [...new Set(rows.map((r) => r.kind))].sort()) {
      const mine = rows.filter((r) => r.kind === kind);
      const flagged = mine.filter((r) => r.flagged).length;
      const mean = mine.reduce((a, r) => a + r.score, 0) / mine.length;
      out(`| ${kind}${ATTACKS.includes(kind) ? '' : ' (benign)'} | ${mine.length} | ${flagged} (${pct(flagged / mine.length)}) | ${mean.toFixed(3)} |`);
    }
    // Per attacking client (source address): was it caught, and after how many connections.
    out();
    out('| attack kind | clients | clients caught | connections before the first catch (median, max) |');
    out('|---|---|---|---|');
    for (const kind of ATTACKS) {
      const bySource = new Map<string, Array<{ at: string; flagged: boolean }>>();
      for (const r of rows.filter((x) => x.kind === kind)) bySource.set(r.address, [...(bySource.get(r.address) ?? []), r]);
      // A rotation is one client behind many addresses: its connections in order, together.
      const clients = kind === 'rotation' || kind === 'fixed-random' ? [[...bySource.values()].flat()] : [...bySource.values()];
      const before = clients.map((c) => {
        const ordered = c.sort((a, b) => a.at.localeCompare(b.at));
        const i = ordered.findIndex((r) => r.flagged);
        return i === -1 ? Infinity : i;
      });
      const caught = before.filter((n) => n !== Infinity).sort((a, b) => a - b);
      const med = caught.length ? caught[Math.floor(caught.length / 2)] : '-';
      out(`| ${kind}${clients.length === 1 && bySource.size > 1 ? ` (one client, ${bySource.size} addresses)` : ''} | ${clients.length} | ${caught.length} | ${med}, ${caught.length ? caught.at(-1) : '-'} |`);
    }
    const signals = new Map<string, number>();
    for (const d of decisions.values()) for (const r of d.reasons) signals.set(r.signal, (signals.get(r.signal) ?? 0) + 1);
    out();
    out(`signals seen: ${[...signals].sort((a, b) => b[1] - a[1]).map(([s, n]) => `${s} ${n}`).join(', ')}`);
    const fps = [...decisions.values()].filter((d) => d.action !== 'primary' && !ATTACKS.includes(label.get(d.address)!));
    if (fps.length) out(`false positives: ${fps.slice(0, 12).map((d) => `${what.get(d.address)} ${d.score} [${d.reasons.map((r) => r.signal).join(',')}]`).join('; ')}`);
  } finally {
    clearInterval(poller);
    await w.stop();
  }
}

/** New TLS handshakes per second over `count` handshakes, `concurrency` at a time, from many sources. */
async function handshakeRate(port: number, count: number, concurrency: number): Promise<number> {
  let done = 0;
  let n = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (n < count) {
        const i = n++;
        await new Promise<void>((resolve) => {
          // tls.connect hands localAddress on to net.connect; its types leave it out.
          const opts = { host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, localAddress: `127.201.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`, ALPNProtocols: ['http/1.1'] };
          const s = tls.connect(opts as tls.ConnectionOptions, () => {
            done++;
            s.destroy();
            resolve();
          });
          s.on('error', () => resolve());
          s.on('close', () => resolve());
        });
      }
    }),
  );
  if (done < count * 0.99) throw new Error(`only ${done} of ${count} handshakes completed`);
  return count / ((performance.now() - started) / 1000);
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of the line, in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Waits for the model's first training; returns the CPU it took (ms). */
async function trainedModel(adminPort: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const m = (await (await fetch(`http://127.0.0.1:${adminPort}/api/plugins/bae/model`)).json()) as { state: string; trainingMs: number };
    if (m.state === 'ready') return m.trainingMs;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the model did not train');
}

async function cost(): Promise<void> {
  const training: number[] = [];
  const rates: Record<'off' | 'on', number[]> = { off: [], on: [] };
  const cpu: Record<'off' | 'on', number[]> = { off: [], on: [] };
  const count = 2_000;
  for (let round = 0; round < 5; round++) {
    for (const mode of ['off', 'on'] as const) {
      // Observe-only, and thresholds of 0.99: the load client's handshakes (one stack, many
      // sources, no requests) would look like a rotation, be left out of training and leave the
      // forest untrained; this way every handshake is analysed *and* scored by a trained forest.
      const w = await startWeaver({ bae: mode === 'on' ? baeOptions(', observeOnly: true', 0.99, 60_000) : undefined, originPort: origin.port });
      try {
        await handshakeRate(w.port, 400, 8); // warm the JIT and the caches; the model trains on these (minSamples 300)
        // The warm-up training (50–150 ms of CPU, then once per retrainIntervalMs) is background
        // work, not a per-handshake cost: it is reported on its own below.
        if (mode === 'on') training.push(await trainedModel(w.adminPort));
        const before = cpuSeconds(w.child.pid!);
        rates[mode].push(await handshakeRate(w.port, count, 16));
        cpu[mode].push(((cpuSeconds(w.child.pid!) - before) / count) * 1e6);
      } finally {
        await w.stop();
      }
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const list = (xs: number[]) => xs.map((r) => r.toFixed(0)).join(', ');
  out();
  out(`| new TLS handshakes (${count.toLocaleString('en')} per run, 16 at a time, median of 5 runs) | per second | Weaver CPU per handshake |`);
  out('|---|---|---|');
  out(`| plugin off | ${median(rates.off).toFixed(0)} (${list(rates.off)}) | ${median(cpu.off).toFixed(0)} µs (${list(cpu.off)}) |`);
  out(`| bae on, observe-only (every handshake analysed) | ${median(rates.on).toFixed(0)} (${list(rates.on)}) | ${median(cpu.on).toFixed(0)} µs (${list(cpu.on)}) |`);
  out(
    `| cost of bae | ${pct(1 - median(rates.on) / median(rates.off))} of the measured rate | ${pct(1 - median(cpu.off) / median(cpu.on))} of a CPU-bound handshake rate (+${(median(cpu.on) - median(cpu.off)).toFixed(0)} µs) |`,
  );
  // The same again with the two side by side, loaded at once: whatever else the machine runs
  // weighs on both alike, so the ratio of their CPU holds up when the runs above scatter.
  const paired: number[] = [];
  for (let round = 0; round < 3; round++) {
    const off = await startWeaver({ bae: undefined, originPort: origin.port });
    const on = await startWeaver({ bae: baeOptions(', observeOnly: true', 0.99, 60_000), originPort: origin.port });
    try {
      await Promise.all([handshakeRate(off.port, 400, 8), handshakeRate(on.port, 400, 8)]);
      await trainedModel(on.adminPort);
      const before = [cpuSeconds(off.child.pid!), cpuSeconds(on.child.pid!)];
      await Promise.all([handshakeRate(off.port, count, 8), handshakeRate(on.port, count, 8)]);
      paired.push(1 - (cpuSeconds(off.child.pid!) - before[0]!) / (cpuSeconds(on.child.pid!) - before[1]!));
    } finally {
      await off.stop();
      await on.stop();
    }
  }
  const perHandshake = (median(training) * 1000) / (median(rates.on) * 60);
  out(
    `| a training of the model (background, once per retrainIntervalMs, 60 s) | ${median(training).toFixed(0)} ms of CPU (${list(training)}) | ≈ ${perHandshake.toFixed(1)} µs per handshake at the rate above |`,
  );
  out(`| cost of bae, the two side by side (median of 3) | | ${pct(median(paired))} of a CPU-bound handshake rate (${paired.map(pct).join(', ')}) |`);
  out('The CPU column is the robust one when other work shares the machine: a CPU-bound server handshakes at 1 / (CPU per handshake).');
}

async function memory(): Promise<void> {
  const run = promisify(execFile);
  out();
  out('| client profiles in memory | MiB | bytes each |');
  out('|---|---|---|');
  for (const keyed of ['', 'ja4']) {
    const { stdout } = await run(process.execPath, ['--expose-gc', 'eval/bae/memory.ts', '1000000', ...(keyed ? [keyed] : [])], { cwd: repoRoot, maxBuffer: 1 << 20 });
    const r = JSON.parse(stdout) as { profiles: number; keyedBy: string; mib: number; bytesPerProfile: number };
    out(`| ${r.profiles.toLocaleString('en')} keyed by ${r.keyedBy} | ${r.mib} | ${r.bytesPerProfile} |`);
  }
}

try {
  const only = process.argv[2];
  if (!only || only === 'detection') await detection();
  if (!only || only === 'cost') await cost();
  if (!only || only === 'memory') await memory();
} finally {
  await origin.close();
}
