// `npm run bench:segmentation`: the segmentation rule engine and its admin API.
//
//   1. evaluations per CPU-second with 100 000 rules (address rules over IPv4 and IPv6, segment
//      rules, an allow-list posture): connections as the plugin sees them (a new flow evaluated
//      at each of the four phases), and the cold case (every evaluation a new flow);
//   2. on a real Weaver (its own process) holding the same 100 000 rules: time from
//      `POST /rules` to the rule applying to new connections (the reply is sent once the rule
//      is in force; a new TLS connection from the source is then checked to be refused), and
//      from `POST /rules` to every live TLS connection from that source being closed at the
//      client.
//
//   npm run bench:segmentation [-- --rules 100000 --seconds 3 --rounds 20 --live 50]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Controller } from '../plugins/segmentation/controller.ts';
import type { Flow } from '../plugins/segmentation/policy.ts';
import { freePort, startWeaverProcess, writeConfig } from '../test/ops/weaver-process.ts';
import { admin, connectTls, segConfig, tryTls } from '../test/segmentation/support.ts';

const { values } = parseArgs({
  options: {
    rules: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '20' },
    live: { type: 'string', default: '50' },
  },
});
const RULES = Number(values.rules);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const LIVE = Number(values.live);

// A fixed-seed generator (mulberry32), so every run builds the same rule set.
let seed = 42;
const rand = (n: number): number => {
  seed = (seed + 0x6d2b79f5) | 0;
  let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
  return Math.floor((((x ^ (x >>> 14)) >>> 0) / 4_294_967_296) * n);
};
const v4 = (): string => `${1 + rand(223)}.${rand(256)}.${rand(256)}.${rand(256)}`;
const v6 = (): string => `2001:db8:${rand(65536).toString(16)}:${rand(65536).toString(16)}::${rand(65536).toString(16)}`;

function segments(): Record<string, { cidrs: string[]; hosts?: string[]; posture?: 'allow-list' }> {
  const out: Record<string, { cidrs: string[]; hosts?: string[]; posture?: 'allow-list' }> = {};
  for (let i = 0; i < 50; i++) out[`seg${i}`] = { cidrs: Array.from({ length: 20 }, () => `${1 + rand(223)}.${rand(256)}.0.0/16`) };
  out.app = { cidrs: ['10.200.0.0/16'], hosts: ['app.example'], posture: 'allow-list' };
  return out;
}

function rules(n: number): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0; i < 100; i++) out.push({ id: `seg-${i}`, from: { segment: `seg${i % 50}` }, to: { port: 1 + rand(1024) }, action: 'allow', priority: rand(10) });
  while (out.length < n) {
    const i = out.length;
    const cidr = i % 10 === 0 ? `${v6()}/${64 + rand(65)}` : i % 3 === 0 ? `${v4()}/${16 + rand(9)}` : v4();
    out.push({ id: `r${i}`, from: { cidr }, action: i % 7 === 0 ? 'allow' : 'deny', priority: rand(100) });
  }
  return out;
}

function engineBench(): { evalsPerSecond: number; coldEvalsPerSecond: number; buildMs: number } {
  const ctl = new Controller({ maxRules: Number.MAX_SAFE_INTEGER, cutLiveFlows: false, maxDenyKeys: 1 });
  const t0 = performance.now();
  for (const [name, seg] of Object.entries(segments())) ctl.engine.addSegment(name, seg, 'config');
  for (const r of rules(RULES)) ctl.engine.addRule(ctl.compile(r, 'config'));
  const buildMs = performance.now() - t0;
  // A quarter of the sources hit a rule's address exactly; the rest are random.
  const listed = [...ctl.engine.rules.values()].filter((r) => r.fromPrefix && r.fromPrefix.len === 32).map((r) => r.fromPrefix!.text.slice(0, -3));
  const sources = Array.from({ length: 65_536 }, (_, i) => (i % 4 === 0 ? listed[rand(listed.length)]! : i % 10 === 1 ? v6() : v4()));
  const JA4 = 't13d1516h2_8daaf6152771_02713d6af862';
  // Per CPU-second of this process, so other load on the machine does not count against it.
  const perCpuSecond = (body: (i: number) => number): number => {
    let n = 0;
    let i = 0;
    const cpu0 = process.cpuUsage();
    const end = performance.now() + SECONDS * 1000;
    while (performance.now() < end) for (let k = 0; k < 1024; k++) n += body(i++ & 65_535);
    const cpu = process.cpuUsage(cpu0);
    return n / ((cpu.user + cpu.system) / 1e6);
  };
  // As the plugin does it: a new flow per connection, evaluated at each of the four phases.
  const connection = (i: number): number => {
    const f: Flow = { src: sources[i]!, dst: '10.200.0.1', port: 443, stage: 0 };
    ctl.engine.evaluate(f);
    f.sni = i % 2 ? 'app.example' : 'other.example';
    f.ja4 = JA4;
    f.stage = 1;
    ctl.engine.evaluate(f);
    f.stage = 2;
    ctl.engine.evaluate(f);
    f.host = f.sni;
    f.route = 'main';
    f.upstream = 'origin';
    f.stage = 3;
    ctl.engine.evaluate(f);
    return 4;
  };
  // The worst case: every evaluation a new flow (address parsed, trie walked).
  const cold = (i: number): number => {
    ctl.engine.evaluate({ src: sources[i]!, dst: '10.200.0.1', port: 443, sni: 'app.example', ja4: JA4, stage: 1 });
    return 1;
  };
  perCpuSecond(connection); // warm-up
  return { evalsPerSecond: perCpuSecond(connection), coldEvalsPerSecond: perCpuSecond(cold), buildMs };
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

// Weaver runs as its own process (as in production), so the clients here do not share its
// event loop.
async function apiBench(): Promise<{ toNewConnectionMs: number[]; toCutMs: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'seg-bench-'));
  const [port, adminPort] = [await freePort(), await freePort()];
  const yaml = segConfig(`      maxRules: ${RULES * 2}\n      segments: ${JSON.stringify(segments())}\n      rules: ${JSON.stringify(rules(RULES))}\n`)
    .replace('listeners: [{ name: https, port: 0 }]', `stateDir: ${dir}\nworkers: 1\nlog: { level: info }\nlisteners: [{ name: https, port: ${port} }]`)
    .replace('admin: { port: 0 }', `admin: { port: ${adminPort} }`);
  const weaver = await startWeaverProcess(writeConfig(dir, yaml));
  const toNew: number[] = [];
  const toCut: number[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const src = `127.60.${i}.1`;
      if ((await tryTls(port, src, 'other.example')) !== 'ok') throw new Error(`${src} refused before its rule`);
      const t0 = performance.now();
      const res = await admin(adminPort, 'POST', '/rules', { id: `bench-new-${i}`, from: { cidr: src }, action: 'deny', priority: 1000 });
      const applied = performance.now() - t0;
      if (res.status !== 201) throw new Error(`POST /rules: ${res.status}`);
      if ((await tryTls(port, src, 'other.example')) !== 'refused') throw new Error(`${src} not refused after its rule`);
      toNew.push(applied);

      const live = `127.61.${i}.1`;
      const held = await Promise.all(Array.from({ length: LIVE }, () => connectTls(port, live, 'other.example')));
      const t1 = performance.now();
      await admin(adminPort, 'POST', '/rules', { id: `bench-cut-${i}`, from: { cidr: live }, action: 'deny', priority: 1000 });
      const closedAt = await Promise.all(held.map((c) => c.closed));
      toCut.push(Math.max(...closedAt) - t1);
    }
  } finally {
    weaver.kill('SIGTERM');
    await weaver.exited;
    rmSync(dir, { recursive: true, force: true });
  }
  return { toNewConnectionMs: toNew, toCutMs: toCut };
}

const engine = engineBench();
const api = await apiBench();
const summary = {
  rules: RULES,
  buildMs: Math.round(engine.buildMs),
  evalsPerSecond: Math.round(engine.evalsPerSecond),
  coldEvalsPerSecond: Math.round(engine.coldEvalsPerSecond),
  apiToNewConnectionMs: { p50: +pct(api.toNewConnectionMs, 50).toFixed(2), p95: +pct(api.toNewConnectionMs, 95).toFixed(2), max: +Math.max(...api.toNewConnectionMs).toFixed(2) },
  apiToCutMs: { liveFlows: LIVE, p50: +pct(api.toCutMs, 50).toFixed(2), p95: +pct(api.toCutMs, 95).toFixed(2), max: +Math.max(...api.toCutMs).toFixed(2) },
};
console.log(JSON.stringify(summary, null, 2));
