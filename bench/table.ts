// Medians over rounds, ratios to the best Node peer and to nginx, the targets the issue asks
// the lead to quote, and the report as Markdown (the JSON is the Report object itself).
import type { LoadResult } from './load.ts';
import type { MemoryResult } from './memory.ts';
import type { TargetKind } from './targets/types.ts';

export type MetricId = 'h1' | 'h2' | 'hs' | 'hello';

export interface Sample {
  round: number;
  target: string;
  metric: MetricId;
  result?: LoadResult;
  error?: string;
  /** CPU the target's process tree used, % of one core, over the whole run of the tool. */
  targetCpuPct: number;
  /**
   * Target CPU per request (per handshake in the handshake tests) in µs: its CPU use over the
   * run ÷ the measured rate. Unlike the rate it hardly moves with other load on the machine.
   */
  cpuUsPerOp?: number;
  /** CPU used on the machine by processes that are not the bench's, % of one core. */
  foreignCpuPct: number;
  /** Measured again because foreign load was high the first time. */
  retried: boolean;
}

export interface TargetInfo {
  id: string;
  label: string;
  kind: TargetKind;
  h2: boolean;
  /** Why it was not measured. */
  skipped?: string;
}

export interface Report {
  date: string;
  quick: boolean;
  rounds: number;
  durations: { warmupS: number; measureS: number; handshakeS: number };
  load: { h1: string; h2: string; hs: string };
  placement: string;
  origin: string;
  certificate: string;
  versions: Record<string, string>;
  targets: TargetInfo[];
  baselines: TargetInfo[];
  samples: Sample[];
  memory: Record<string, MemoryResult | { error: string }>;
  memoryConnections: number;
  notes: string[];
  elapsedS: number;
}

export function median(values: readonly number[]): number | undefined {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** A sample counts when the tool ran and at most 1% of its requests failed or were not 2xx. */
function valid(s: Sample): boolean {
  const r = s.result;
  return r !== undefined && r.requests > 0 && (r.errors + r.non2xx) / (r.requests + r.errors) <= 0.01;
}

/** Above this much CPU (% of one core) used by other processes meanwhile, a sample is "noisy". */
export const NOISY_PCT = 25;

/**
 * The samples a cell's median is taken from: the valid ones, and of those only the quiet ones
 * when there is at least one (a noisy cell is marked † in the table).
 */
function cellSamples(report: Report, target: string, metric: MetricId): { samples: Sample[]; noisy: boolean } {
  const ok = report.samples.filter((s) => s.target === target && s.metric === metric && valid(s));
  const quiet = ok.filter((s) => s.foreignCpuPct <= NOISY_PCT);
  return quiet.length > 0 ? { samples: quiet, noisy: false } : { samples: ok, noisy: ok.length > 0 };
}

export function values(report: Report, target: string, metric: MetricId, pick: (r: LoadResult) => number | undefined = (r) => r.rate): number[] {
  return cellSamples(report, target, metric)
    .samples.map((s) => pick(s.result!))
    .filter((x): x is number => x !== undefined && Number.isFinite(x));
}

function dagger(report: Report, target: string, metric: MetricId): string {
  return cellSamples(report, target, metric).noisy ? ' †' : '';
}

export function med(report: Report, target: string, metric: MetricId, pick?: (r: LoadResult) => number | undefined): number | undefined {
  return median(values(report, target, metric, pick));
}

const p99 = (r: LoadResult) => r.p99Ms;

function bestNodePeer(report: Report, metric: MetricId): { id: string; value: number } | undefined {
  let best: { id: string; value: number } | undefined;
  for (const t of report.targets) {
    if (t.kind !== 'node-peer') continue;
    const v = med(report, t.id, metric);
    if (v !== undefined && (!best || v > best.value)) best = { id: t.id, value: v };
  }
  return best;
}

function fmtRate(v: number | undefined): string {
  if (v === undefined) return '—';
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1);
}

function fmtRatio(v: number | undefined, base: number | undefined): string {
  if (v === undefined || base === undefined || base === 0) return '—';
  return `${(v / base).toFixed(2)}×`;
}

function fmtMs(v: number | undefined): string {
  return v === undefined ? '—' : v.toFixed(2);
}

function kib(m: MemoryResult | { error: string } | undefined, wanted: number): string {
  if (!m) return '—';
  if ('error' in m) return 'failed';
  return `${m.kibPerConnection.toFixed(1)}${m.connections < wanted ? ` (${m.connections.toLocaleString('en-US')} conns)` : ''}`;
}

export interface Verdict {
  what: string;
  want: string;
  measured: string;
  /** The same comparison made with CPU time per request/handshake instead of rates. */
  byCpu: string;
  pass: boolean | undefined;
}

function cpuPerOp(report: Report, target: string, metric: MetricId): number | undefined {
  return median(cellSamples(report, target, metric).samples.map((s) => s.cpuUsPerOp ?? NaN));
}

/** "1.23× (88 vs 108 µs)": how many of `a`'s operations fit in the CPU time of one of `b`'s. */
function cpuRatio(report: Report, a: string, b: string | undefined, metric: MetricId): string {
  const x = cpuPerOp(report, a, metric);
  const y = b === undefined ? undefined : cpuPerOp(report, b, metric);
  if (x === undefined || y === undefined) return '—';
  return `${(y / x).toFixed(2)}× (${x.toFixed(0)} vs ${y.toFixed(0)} µs)`;
}

/** The numbers the issue asks the lead to quote, each with pass/miss. */
export function verdicts(report: Report): Verdict[] {
  const out: Verdict[] = [];
  const ratioCheck = (metric: MetricId, name: string) => {
    const w = med(report, 'weaver', metric);
    const best = bestNodePeer(report, metric);
    const ratio = w !== undefined && best ? w / best.value : undefined;
    out.push({
      what: `${name}: Weaver ÷ best Node peer${best ? ` (${best.id})` : ''}`,
      want: '≥ 1.30×',
      measured: ratio === undefined ? 'not measured' : `${ratio.toFixed(2)}× (${fmtRate(w)} vs ${fmtRate(best?.value)})`,
      byCpu: cpuRatio(report, 'weaver', best?.id, metric),
      pass: ratio === undefined ? undefined : ratio >= 1.3,
    });
  };
  ratioCheck('h1', 'HTTP/1.1 req/s');
  ratioCheck('h2', 'HTTP/2 req/s');
  const w = med(report, 'weaver', 'hs');
  const nhp = med(report, 'node-http-proxy', 'hs');
  out.push({
    what: 'new TLS handshakes/s: Weaver ÷ node-http-proxy',
    want: '≥ 1.00×',
    measured: w === undefined || nhp === undefined ? 'not measured' : `${(w / nhp).toFixed(2)}× (${fmtRate(w)} vs ${fmtRate(nhp)})`,
    byCpu: cpuRatio(report, 'weaver', 'node-http-proxy', 'hs'),
    pass: w === undefined || nhp === undefined ? undefined : w >= nhp,
  });
  const cost = helloCost(report);
  out.push({
    what: "ClientHello path: cost vs a plain node:tls server's handshake rate",
    want: '≤ 10%',
    measured: cost === undefined ? 'not measured' : `${(cost.cost * 100).toFixed(1)}% (${fmtRate(cost.weaver)} vs ${fmtRate(cost.plain)} handshakes/s)`,
    byCpu: (() => {
      const p = cpuPerOp(report, 'plain-tls', 'hello');
      const w = cpuPerOp(report, 'weaver-hello', 'hello');
      return p === undefined || w === undefined ? '—' : `${((1 - p / w) * 100).toFixed(1)}% (${w.toFixed(0)} vs ${p.toFixed(0)} µs)`;
    })(),
    pass: cost === undefined ? undefined : cost.cost <= 0.1,
  });
  const m = report.memory.weaver;
  out.push({
    what: 'RSS per idle TLS connection (Weaver)',
    want: '≤ 40 KiB',
    measured: !m ? 'not measured' : 'error' in m ? `failed: ${m.error}` : `${m.kibPerConnection.toFixed(1)} KiB (${m.connections} connections)`,
    byCpu: '',
    pass: !m || 'error' in m ? undefined : m.kibPerConnection <= 40,
  });
  return out;
}

/**
 * The ClientHello path's cost: 1 − Weaver's listener rate ÷ the plain server's, from the
 * median of the per-round ratios (both were measured back to back in each round).
 */
export function helloCost(report: Report): { cost: number; plain: number; weaver: number } | undefined {
  const plain = med(report, 'plain-tls', 'hello');
  const weaver = med(report, 'weaver-hello', 'hello');
  if (plain === undefined || weaver === undefined) return undefined;
  const ratios: number[] = [];
  for (let r = 0; r < report.rounds; r++) {
    const a = cellSamples(report, 'plain-tls', 'hello').samples.find((s) => s.round === r);
    const b = cellSamples(report, 'weaver-hello', 'hello').samples.find((s) => s.round === r);
    if (a && b) ratios.push(b.result!.rate / a.result!.rate);
  }
  const ratio = median(ratios) ?? weaver / plain;
  return { cost: 1 - ratio, plain, weaver };
}

function spread(report: Report, target: string, metric: MetricId): string {
  const v = values(report, target, metric);
  if (v.length === 0) {
    const failed = report.samples.find((s) => s.target === target && s.metric === metric && !valid(s));
    if (!failed) return '—';
    return failed.error ? 'failed' : `invalid (${failed.result?.errors ?? 0} errors, ${failed.result?.non2xx ?? 0} non-2xx)`;
  }
  const cell = cellSamples(report, target, metric).samples;
  const cpu = median(cell.map((s) => s.targetCpuPct));
  const perOp = median(cell.map((s) => s.cpuUsPerOp ?? NaN));
  return `${v.map((x) => fmtRate(x)).join(' / ')} (cpu ${cpu?.toFixed(0) ?? '?'}%${perOp === undefined ? '' : `, ${perOp.toFixed(0)} µs/op`})`;
}

export function toMarkdown(report: Report): string {
  const L: string[] = [];
  const measured = report.targets.filter((t) => !t.skipped);
  const nginxOn = measured.some((t) => t.id === 'nginx');
  L.push(`# Weaver benchmark — ${report.date}${report.quick ? ' (quick run: 1 round, short durations — not for quoting)' : ''}`);
  L.push('');
  L.push(
    `Medians of ${report.rounds} interleaved round(s). Every target on one core (core 0, one worker/process), ` +
      `load generator and origin on the other (core 1). Ratios are each row ÷ the best Node peer for that column ` +
      `(${bestNames(report)}) and ÷ nginx${nginxOn ? '' : ' (nginx not measured)'}. See README.md, "Benchmark", for how to read this.`,
  );
  L.push('');
  L.push('| target | HTTP/1.1 req/s | × best Node | × nginx | HTTP/1.1 p99 ms | HTTP/2 req/s | × best Node | × nginx | new TLS handshakes/s | × best Node | × nginx | RSS KiB / idle TLS conn |');
  L.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  const bests = { h1: bestNodePeer(report, 'h1')?.value, h2: bestNodePeer(report, 'h2')?.value, hs: bestNodePeer(report, 'hs')?.value };
  const ng = { h1: med(report, 'nginx', 'h1'), h2: med(report, 'nginx', 'h2'), hs: med(report, 'nginx', 'hs') };
  for (const t of report.targets) {
    if (t.skipped) {
      L.push(`| ${t.label} | skipped: ${t.skipped} |  |  |  |  |  |  |  |  |  |  |`);
      continue;
    }
    const h1 = med(report, t.id, 'h1');
    const h2 = t.h2 ? med(report, t.id, 'h2') : undefined;
    const hs = med(report, t.id, 'hs');
    L.push(
      `| ${t.kind === 'weaver' ? `**${t.label}**` : t.label} | ${fmtRate(h1)}${dagger(report, t.id, 'h1')} | ${fmtRatio(h1, bests.h1)} | ${fmtRatio(h1, ng.h1)} | ${fmtMs(med(report, t.id, 'h1', p99))} | ` +
        `${t.h2 ? `${fmtRate(h2)}${dagger(report, t.id, 'h2')}` : 'n/a (no HTTP/2)'} | ${fmtRatio(h2, bests.h2)} | ${fmtRatio(h2, ng.h2)} | ` +
        `${fmtRate(hs)}${dagger(report, t.id, 'hs')} | ${fmtRatio(hs, bests.hs)} | ${fmtRatio(hs, ng.hs)} | ${kib(report.memory[t.id], report.memoryConnections)} |`,
    );
  }
  L.push('');
  L.push("## ClientHello path: Weaver's listener vs a plain node:tls server");
  L.push('');
  L.push('Both complete full handshakes and answer the first request with the same canned 1 KiB response, then close (no proxying).');
  L.push('');
  L.push('| server | handshakes/s (median) | per round | RSS KiB / idle TLS conn |');
  L.push('|---|--:|---|--:|');
  for (const t of report.baselines) {
    if (t.skipped) {
      L.push(`| ${t.label} | skipped: ${t.skipped} | | |`);
      continue;
    }
    L.push(`| ${t.label} | ${fmtRate(med(report, t.id, 'hello'))}${dagger(report, t.id, 'hello')} | ${spread(report, t.id, 'hello')} | ${kib(report.memory[t.id], report.memoryConnections)} |`);
  }
  const cost = helloCost(report);
  L.push('');
  L.push(cost ? `Cost of Weaver's ClientHello path: **${(cost.cost * 100).toFixed(1)}%** of the plain server's handshake rate (median of the per-round ratios).` : 'Cost of the ClientHello path: not measured.');
  const cpuPlain = median(cellSamples(report, 'plain-tls', 'hello').samples.map((s) => s.cpuUsPerOp ?? NaN));
  const cpuWeaver = median(cellSamples(report, 'weaver-hello', 'hello').samples.map((s) => s.cpuUsPerOp ?? NaN));
  if (cpuPlain !== undefined && cpuWeaver !== undefined) {
    L.push(
      `In CPU time per handshake (a cross-check that other load on the machine hardly moves): ${cpuPlain.toFixed(0)} µs plain, ` +
        `${cpuWeaver.toFixed(0)} µs through Weaver's listener, ${(((cpuWeaver - cpuPlain) / cpuWeaver) * 100).toFixed(1)}% of Weaver's handshake CPU spent on the path.`,
    );
  }
  L.push('');
  L.push('## Targets to quote');
  L.push('');
  L.push('"by CPU time" repeats each comparison with CPU time per request (per handshake) instead of rates: a cross-check that other load on the machine hardly moves.');
  L.push('');
  L.push('| what | want | measured | | by CPU time |');
  L.push('|---|---|---|---|---|');
  for (const v of verdicts(report)) L.push(`| ${v.what} | ${v.want} | ${v.measured} | ${v.pass === undefined ? '—' : v.pass ? 'met' : '**missed**'} | ${v.byCpu} |`);
  L.push('');
  L.push('## Every round');
  L.push('');
  L.push(
    "Each round's value in round order; then the target's median CPU use (% of its one core) while measured — near 100% means the target was the bottleneck — " +
      'and its CPU time per request (per handshake in the last column), which hardly moves with other load on the machine.',
  );
  L.push('');
  L.push('| target | HTTP/1.1 req/s | HTTP/2 req/s | handshakes/s |');
  L.push('|---|---|---|---|');
  for (const t of measured) {
    L.push(`| ${t.label} | ${spread(report, t.id, 'h1')} | ${t.h2 ? spread(report, t.id, 'h2') : 'n/a'} | ${spread(report, t.id, 'hs')} |`);
  }
  L.push('');
  L.push('## How this run was made');
  L.push('');
  L.push(`- Placement: ${report.placement}`);
  L.push(`- Origin: ${report.origin}, a fixed 1 KiB body over keep-alive HTTP/1.1.`);
  L.push(`- Certificate: ${report.certificate}, self-signed, the same file for every target. TLS session resumption is off on every target and checked before measuring.`);
  L.push(`- HTTP/1.1: ${report.load.h1}`);
  L.push(`- HTTP/2: ${report.load.h2}`);
  L.push(`- New handshakes: ${report.load.hs}`);
  L.push(`- Memory: ${report.memoryConnections.toLocaleString('en-US')} idle TLS connections (full handshake, ALPN http/1.1, no request) opened by a separate Node process on core 1 against a freshly started target; (VmRSS after − before, summed over the target's processes) ÷ connections.`);
  L.push(`- Rounds: ${report.rounds}; each round measures every target once per test, in an order rotated by one each round. Warm-up ${report.durations.warmupS} s, then ${report.durations.measureS} s measured (handshake tests: about ${report.durations.handshakeS} s).`);
  L.push(`- Versions: ${Object.entries(report.versions).map(([k, v]) => `${k} ${v}`).join('; ')}.`);
  const tls = [...new Set(report.samples.filter((s) => s.result?.tls && s.metric === 'h2').map((s) => `${s.target}: ${s.result!.tls}`))];
  if (tls.length > 0) L.push(`- Negotiated (HTTP/2 test): ${tls.join('; ')}.`);
  const noisy = report.samples.filter((s) => s.foreignCpuPct > NOISY_PCT);
  L.push(
    `- Other load on the machine: ${noisy.length} of ${report.samples.length} kept measurements saw more than ${NOISY_PCT}% of a core used by processes outside the bench` +
      `${noisy.length > 0 ? ` (max ${Math.max(...noisy.map((s) => s.foreignCpuPct)).toFixed(0)}%)` : ''}; measured again first because of it: ${report.samples.filter((s) => s.retried).length}. ` +
      `A median leaves noisy rounds out when the cell has a quiet one; † marks a cell that had none.`,
  );
  for (const n of report.notes) L.push(`- ${n}`);
  L.push(`- Whole run: ${Math.round(report.elapsedS)} s.`);
  L.push('');
  return L.join('\n');
}

function bestNames(report: Report): string {
  const names = (['h1', 'h2', 'hs'] as const).map((m) => `${m === 'h1' ? 'HTTP/1.1' : m === 'h2' ? 'HTTP/2' : 'handshakes'}: ${bestNodePeer(report, m)?.id ?? '—'}`);
  return names.join(', ');
}
