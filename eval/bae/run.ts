// `npm run eval:bae`: replays a labelled mix of benign and attack traffic on loopback against a
// real Weaver running bae, each simulated client on its own 127.x.y.z source, and prints:
//   detection — AUROC, detection rate at 1% false positives, rates at the configured
//               threshold, recall per attack kind, false positives per benign kind;
//   cost      — CPU per new TLS handshake with no plugin, a do-nothing plugin and bae
//               (observe-only), in interleaved rounds (cost.ts); `cost --against REV` adds
//               Weaver and bae at git revision REV as a fourth server;
//   memory    — 1,000,000 client profiles (eval/bae/memory.ts, in a process of its own).
// Shared data is read relative to the repo (../shared/data). Takes about a quarter of an hour,
// most of it the 400 rounds of the cost (BAE_COST_ROUNDS sets how many).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { atThreshold, auroc, detectionAtFp, type Scored } from './stats.ts';
import { ATTACKS, attackEpisodes, benignEpisodes, rand, type Episode, type Kind } from './traffic.ts';
import { cost } from './cost.ts';
import { baeOptions, COST_OPTIONS, repoRoot, startWeaver } from './weaver.ts';

const THRESHOLD = 0.6;

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
  // Retraining every 5 s, so the short replay sees a model trained on it.
  const w = await startWeaver({ bae: baeOptions('', THRESHOLD, 5_000), originPort: origin.port });
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
  const [only, flag, rev] = process.argv.slice(2);
  // `cost --against REV`: Weaver and bae as they were at REV run beside the working tree's (see cost.ts).
  const usage = 'usage: npm run eval:bae [-- detection | cost [--against REV] | memory]';
  if (only !== undefined && !['detection', 'cost', 'memory'].includes(only)) throw new Error(usage);
  if (flag !== undefined && (only !== 'cost' || flag !== '--against' || !rev)) throw new Error(usage);
  if (!only || only === 'detection') await detection();
  if (!only || only === 'cost') await cost(out, COST_OPTIONS, origin.port, undefined, undefined, rev);
  if (!only || only === 'memory') await memory();
} finally {
  await origin.close();
}
