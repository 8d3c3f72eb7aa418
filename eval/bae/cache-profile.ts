// Where the CPU a handshake costs goes, counted rather than timed: one Weaver (no plugin, the
// do-nothing plugin, or bae) runs under valgrind's callgrind with a simulated cache (32 KiB L1s,
// a 1 MiB last level like this machine's L2), instrumented only while it serves COUNT new
// handshakes after WARM to warm it up; machine code V8 made is named through node's
// --perf-basic-prof map. Prints, per handshake: instructions and misses in all, then by function
// (JS functions by name, V8 builtins, native code), most last-level misses first. The counts
// repeat from run to run, where a timed run on this machine moves by ±2% of the CPU; so this
// says which of two versions touches less, and where, and cost.ts says what it costs.
// Timed work (saves every 10 s, the 5 s flush) lands ~50× more often per handshake under
// valgrind than at full speed: read those rows with that in mind.
//   node eval/bae/cache-profile.ts bae|noop|off [COUNT=1000] [WARM=6000]   (needs valgrind)
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { handshakes, trainedModel } from './cost.ts';
import { baeOptions, repoRoot, startWeaver } from './weaver.ts';

const [mode = 'bae', count = '1000', warm = '6000'] = process.argv.slice(2);
const COUNT = Number(count);
const WARM = Number(warm);
if (!(Number.isInteger(COUNT) && COUNT > 0 && Number.isInteger(WARM) && WARM >= 0)) throw new Error('usage: node eval/bae/cache-profile.ts bae|noop|off [COUNT > 0] [WARM ≥ 0]');
const modes: Record<string, { bae: string | undefined; plugin?: string }> = {
  off: { bae: undefined },
  noop: { bae: '{}', plugin: `${repoRoot}eval/bae/noop-plugin.ts` },
  // No training or saving in the window: under valgrind their timers (60 s, 10 s) fire every few
  // hundred handshakes, ~50× as often per handshake as at full speed, with the collections
  // they bring; cost.ts measures them at full speed.
  bae: { bae: baeOptions(', observeOnly: true, profiles: { saveIntervalMs: 3600000 }', 0.99, 3_600_000) },
};
if (!Object.hasOwn(modes, mode)) throw new Error(`mode is off, noop or bae, not ${mode}`);

const origin = createServer((_req, res) => res.end('ok'));
await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
const originPort = (origin.address() as { port: number }).port;
const outFile = join(tmpdir(), `weaver-cache-profile-${process.pid}.out`);
const w = await startWeaver({
  ...modes[mode]!,
  originPort,
  wrap: ['valgrind', '--tool=callgrind', '--instr-atstart=no', '--cache-sim=yes', '--I1=32768,8,64', '--D1=32768,8,64', '--LL=1048576,16,64', `--callgrind-out-file=${outFile}`],
  nodeArgs: ['--perf-basic-prof'],
});
const pid = w.child.pid!;
const dumpsOf = (): string[] => readdirSync(dirname(outFile)).filter((f) => f.startsWith(`weaver-cache-profile-${process.pid}.out`)).map((f) => join(dirname(outFile), f));
try {
  await handshakes(w.port, WARM, 4);
  if (mode === 'bae') await trainedModel(w.adminPort, 600_000);
  execFileSync('callgrind_control', ['-i', 'on', String(pid)], { stdio: 'ignore' });
  await handshakes(w.port, COUNT, 4);
  execFileSync('callgrind_control', ['-d', String(pid)], { stdio: 'ignore' });
} catch (err) {
  await w.stop();
  for (const f of [...dumpsOf(), `/tmp/perf-${pid}.map`]) rmSync(f, { force: true });
  throw err;
} finally {
  await w.stop();
  origin.close();
}

// The dump made by `-d` holds the measured handshakes; the one at exit, only the shutdown after
// them (switching instrumentation off first would dump, and leave `-d` an empty dump).
const dumps = dumpsOf();
const total = (f: string): number => Number(/^(?:summary|totals): (\d+)/m.exec(readFileSync(f, 'utf8'))?.[1] ?? 0);
const dump = dumps.sort((a, b) => total(b) - total(a))[0]!;
const annotated = execFileSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', dump], { maxBuffer: 1 << 28 }).toString();
for (const f of dumps) rmSync(f, { force: true });

// perf map: "start size name", hex.
const perfMap = `/tmp/perf-${pid}.map`;
const mapText = readFileSync(perfMap, 'utf8');
rmSync(perfMap, { force: true });
const ranges = mapText
  .split('\n')
  .filter(Boolean)
  .map((l) => {
    const [start, size, ...name] = l.split(' ');
    return { start: parseInt(start!, 16), size: parseInt(size!, 16), name: name.join(' ') };
  })
  .sort((a, b) => a.start - b.start);
function jsName(address: number): string {
  let lo = 0;
  let hi = ranges.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid]!.start <= address) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const r = ranges[best];
  return r && address < r.start + r.size ? r.name.replace(/^JS:/, '').replace(/file:\/\/\/.*?\/(plugins|proxy)\//, '$1/') : 'JIT code, unnamed';
}

// Events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw.
const byName = new Map<string, number[]>();
const all = new Array<number>(9).fill(0);
for (const line of annotated.split('\n')) {
  if (!/^\s*[\d,]+ /.test(line) || line.includes('PROGRAM TOTALS')) continue;
  const tokens = line.replace(/\(\s*[\d.]+%\)/g, '').trim().split(/\s+/);
  const counts = tokens.slice(0, 9).map((t) => (t === '.' ? 0 : Number(t.replace(/,/g, ''))));
  const raw = tokens.slice(9).join(' ');
  const jit = /^\?\?\?:0x([0-9a-f]+)/.exec(raw);
  const name = jit ? jsName(parseInt(jit[1]!, 16)) : raw.replace(/ \[.*\]$/, '').replace(/^\?\?\?:/, '');
  const sum = byName.get(name) ?? new Array<number>(9).fill(0);
  counts.forEach((c, i) => {
    sum[i]! += c;
    all[i]! += c;
  });
  byName.set(name, sum);
}
const per = (x: number): string => (x / COUNT).toFixed(0);
console.log(`${mode}: ${COUNT} handshakes after ${WARM}; per handshake: ${per(all[0]!)} instructions, L1 misses ${per(all[3]! + all[4]! + all[5]!)}, last-level misses ${per(all[6]!)} code + ${per(all[7]! + all[8]!)} data`);
console.log('| instructions | L1 misses | last-level: code | data | function |');
console.log('|---|---|---|---|---|');
const rows = [...byName].sort((a, b) => b[1][6]! + b[1][7]! + b[1][8]! - (a[1][6]! + a[1][7]! + a[1][8]!));
for (const [name, c] of rows.slice(0, Number(process.env.TOP ?? 40))) {
  console.log(`| ${per(c[0]!)} | ${per(c[3]! + c[4]! + c[5]!)} | ${per(c[6]!)} | ${per(c[7]! + c[8]!)} | ${name.slice(0, 100)} |`);
}
