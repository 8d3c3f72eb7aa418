// Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by where the
// code lives (Weaver's own files, node's internals, each npm package), and inclusive time of
// Weaver's functions. Used to find the hot path's top costs:
//
//   node --cpu-prof --cpu-prof-dir=/tmp/prof bin/weaver -c bench.yaml   (load it, then SIGTERM)
//   node bench/cpuprofile-top.ts /tmp/prof/CPU.*.cpuprofile [--top 40]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '30' } }, allowPositionals: true });
const top = Number(values.top);
if (positionals.length === 0) {
  process.stderr.write('usage: node bench/cpuprofile-top.ts FILE.cpuprofile [--top N]\n');
  process.exit(2);
}

for (const file of positionals) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt);
    total += dt;
  }
  const idle = [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;

  const where = (url: string, name: string): string => {
    if (name === '(garbage collector)') return 'GC';
    if (name === '(program)') return '(program: native, not JS)';
    if (url === '') return `(native) ${name}`;
    if (url.startsWith('node:')) return 'node internals';
    const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (nm) return `npm: ${nm[1]}`;
    const own = /\/(proxy|bench|cli|bin|plugins)\/(.*)$/.exec(url);
    if (own) return `weaver: ${own[1]}/${own[2]!.split('/').slice(0, -1).join('/') || '.'}`;
    return url;
  };
  const label = (n: ProfileNode): string => {
    const f = n.callFrame;
    const short = f.url.replace(/^.*\/(node_modules\/)/, '$1').replace(/^file:\/\/.*?\/(proxy|cli|bin|bench)\//, '$1/');
    return `${f.functionName || '(anonymous)'} ${short}:${f.lineNumber + 1}`;
  };
  const pct = (t: number) => `${((t / busy) * 100).toFixed(1).padStart(5)}%`;

  const fnSelf = new Map<string, number>();
  const groupSelf = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id)!;
    if (n.callFrame.functionName === '(idle)') continue;
    const key = label(n);
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + t);
    const g = where(n.callFrame.url, n.callFrame.functionName);
    groupSelf.set(g, (groupSelf.get(g) ?? 0) + t);
  }
  // Inclusive time of each Weaver function: a sample counts once per distinct function on its stack.
  const incl = new Map<string, number>();
  for (const [id, t] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      if (!/\/(proxy|cli)\//.test(n.callFrame.url)) continue;
      const key = label(n);
      if (seen.has(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + t);
    }
  }

  process.stdout.write(`\n${file}\nbusy ${(busy / 1e6).toFixed(2)} s of ${(total / 1e6).toFixed(2)} s profiled (${((busy / total) * 100).toFixed(0)}%)\n`);
  process.stdout.write('\nself time by where the code lives (% of busy):\n');
  for (const [g, t] of [...groupSelf].sort((a, b) => b[1] - a[1]).slice(0, 25)) process.stdout.write(`  ${pct(t)}  ${g}\n`);
  process.stdout.write(`\ntop ${top} functions by self time:\n`);
  for (const [k, t] of [...fnSelf].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(t)}  ${k}\n`);
  process.stdout.write(`\ntop ${top} Weaver functions by inclusive time:\n`);
  for (const [k, t] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(t)}  ${k}\n`);
}
