// The CPU a Weaver process spends per new TLS handshake with no plugin, with a plugin that does
// nothing in bae's hooks, and with bae (observe-only, so every handshake is analysed and none is
// routed or refused). On a shared machine a second of CPU is not the same from one second to the
// next (other tenants, caches, clocks), so the three run at once, idle but for the round they are
// in: short rounds of handshakes go to each in turn, each round's CPU is read at nanosecond
// precision (/proc/PID/task/*/schedstat, every thread: the GC's included); the cost is
// 1 − Σ off / Σ on, what a CPU-bound server's rate would lose, with an interval from resampling
// the rounds in pairs. With two or more cores the
// servers share one core and the load client takes another (taskset), so the client's own
// handshakes do not land on the server's core. Each handshake completes on the server's side:
// the client waits for the session ticket TLS 1.3 servers send after the client's Finished.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { repoRoot, startWeaver, type Running } from './weaver.ts';

type Out = (s?: string) => void;

/** CPU seconds (user + system) a process has used so far, every thread. */
function cpuSeconds(pid: number): number {
  let ns = 0;
  let ticks = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const sched = `/proc/${pid}/task/${task}/schedstat`;
    if (existsSync(sched)) ns += Number(readFileSync(sched, 'utf8').split(' ')[0]);
    else {
      // utime and stime, fields 14 and 15 of the line, in clock ticks (100 per second on Linux).
      const fields = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    }
  }
  return ns / 1e9 + ticks / 100;
}

/** Pins every thread of `pid` to `cpu`; false where taskset is missing or there is one core. */
function pin(pid: number, cpu: number): boolean {
  if (cpus().length < 2) return false;
  try {
    execFileSync('taskset', ['-a', '-pc', String(cpu), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let nextSource = 0;

/** `count` new TLS handshakes, `concurrency` at a time, each from its own 127.202.x.y source. */
export async function handshakes(port: number, count: number, concurrency: number): Promise<number> {
  let started = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < count) {
        started++;
        const i = nextSource++ % 62_500;
        await new Promise<void>((resolve) => {
          // tls.connect hands localAddress on to net.connect; its types leave it out.
          const opts = { host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, localAddress: `127.202.${Math.floor(i / 250)}.${(i % 250) + 1}`, ALPNProtocols: ['http/1.1'] };
          const s = tls.connect(opts as tls.ConnectionOptions);
          s.once('session', () => {
            done++;
            s.destroy();
          });
          s.on('error', () => resolve());
          s.on('close', () => resolve());
        });
      }
    }),
  );
  if (done < count * 0.99) throw new Error(`only ${done} of ${count} handshakes completed`);
  return done;
}

/** Waits for the model's first training; returns the CPU it took (ms). */
export async function trainedModel(adminPort: number, timeoutMs = 10_000): Promise<number> {
  for (let i = 0; i < timeoutMs / 50; i++) {
    const m = (await (await fetch(`http://127.0.0.1:${adminPort}/api/plugins/bae/model`)).json()) as { state: string; trainingMs: number };
    if (m.state === 'ready') return m.trainingMs;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the model did not train');
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The cost as a CPU-bound server's rate sees it, 1 − Σ off / Σ on over the rounds, with a 95%
 * interval from resampling the rounds in pairs (a round of each server stays together, so the
 * machine's drift, which both saw, stays out of the spread). Seeded: the same rounds give the
 * same interval.
 */
function costWithInterval(off: readonly number[], on: readonly number[]): { cost: number; lo: number; hi: number } {
  const cost = (idx: readonly number[]) => {
    let a = 0;
    let b = 0;
    for (const i of idx) {
      a += off[i]!;
      b += on[i]!;
    }
    return 1 - a / b;
  };
  let seed = 1;
  const next = () => ((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 4_294_967_296);
  const samples: number[] = [];
  for (let k = 0; k < 2_000; k++) samples.push(cost(off.map(() => Math.floor(next() * off.length))));
  samples.sort((x, y) => x - y);
  return { cost: cost(off.map((_, i) => i)), lo: samples[50]!, hi: samples[1_949]! };
}
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/**
 * A checkout of `rev` in a temporary git worktree sharing this one's node_modules, to run bae as
 * it was at `rev` beside the working tree's; `remove` deletes it.
 */
function worktreeAt(rev: string): { root: string; remove(): void } {
  const root = `${mkdtempSync(join(tmpdir(), 'weaver-eval-rev-'))}/`;
  const remove = (): void => {
    execFileSync('git', ['worktree', 'remove', '--force', root], { cwd: repoRoot, stdio: 'ignore' });
  };
  try {
    execFileSync('git', ['worktree', 'add', '--detach', root, rev], { cwd: repoRoot, stdio: 'ignore' });
  } catch {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`git worktree add ${rev} failed: is it a revision of this repository?`);
  }
  try {
    symlinkSync(join(repoRoot, 'node_modules'), join(root, 'node_modules'));
  } catch (err) {
    remove();
    throw err;
  }
  return { root, remove };
}

/**
 * `rounds` (BAE_COST_ROUNDS, 400 by default): the interval narrows as 1/√rounds; on this
 * machine 100 rounds give about ±3%, 400 about ±1.5%, 800 about ±1.2%.
 *
 * `against`: a git revision whose bae runs as a fourth server, so a change to bae is measured
 * against what it changes in the same rounds (the spread of one run against another is larger
 * than most single changes).
 */
export async function cost(out: Out, baeOptions: string, originPort: number, rounds = Number(process.env.BAE_COST_ROUNDS ?? 400), perRound = 250, against?: string): Promise<void> {
  const modes: Array<{ name: string; bae: string | undefined; plugin: string | undefined; root?: string }> = [
    { name: 'plugin off', bae: undefined, plugin: undefined },
    { name: 'a plugin with the same hooks, doing nothing', bae: '{}', plugin: `${repoRoot}eval/bae/noop-plugin.ts` },
    { name: 'bae on, observe-only (every handshake analysed)', bae: baeOptions, plugin: undefined },
  ];
  const base = against === undefined ? undefined : worktreeAt(against);
  if (base) modes.push({ name: `bae at ${against}`, bae: baeOptions, plugin: undefined, root: base.root });
  const servers: Running[] = [];
  try {
    for (const m of modes) servers.push(await startWeaver({ bae: m.bae, originPort, plugin: m.plugin, root: m.root }));
    const pinned = servers.every((w) => pin(w.child.pid!, 0)) && pin(process.pid, 1);
    // Warm the JIT and the caches; bae's model trains on these (minSamples 300).
    for (const w of servers) await handshakes(w.port, 1_500, 16);
    const trainingMs = await trainedModel(servers[2]!.adminPort);
    if (servers[3]) await trainedModel(servers[3].adminPort);
    const cpu: number[][] = modes.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < servers.length; k++) {
        const i = (r + k) % servers.length; // each mode takes each place in the order in turn
        const w = servers[i]!;
        const before = cpuSeconds(w.child.pid!);
        await handshakes(w.port, perRound, 16);
        cpu[i]!.push(((cpuSeconds(w.child.pid!) - before) / perRound) * 1e6);
      }
    }
    out();
    out(`CPU per new TLS handshake: ${rounds} rounds of ${perRound} handshakes per server, in turn; ${pinned ? 'servers on CPU 0, load client on CPU 1' : 'not pinned (one core, or no taskset)'}.`);
    out();
    out('| Weaver | CPU per handshake: mean (median) | cost against plugin off: 1 − Σ off / Σ on (95% interval) | median of the rounds, each against its own off round |');
    out('|---|---|---|---|');
    modes.forEach((m, i) => {
      const row = `| ${m.name} | ${mean(cpu[i]!).toFixed(0)} µs (${median(cpu[i]!).toFixed(0)}) |`;
      if (i === 0) return out(`${row} | |`);
      const c = costWithInterval(cpu[0]!, cpu[i]!);
      out(`${row} ${pct(c.cost)} (${pct(c.lo)} to ${pct(c.hi)}) | ${pct(median(cpu[i]!.map((on, k) => 1 - cpu[0]![k]! / on)))} |`);
    });
    const bae = mean(cpu[2]!);
    out(`| a training of the model (background, once per retrainIntervalMs, 60 s) | ${trainingMs.toFixed(0)} ms of CPU | ≈ ${((trainingMs * 1000) / (60 * (1e6 / bae))).toFixed(1)} µs per handshake at a CPU-bound rate | |`);
    out('A CPU-bound server handshakes at 1 / (CPU per handshake): the cost in CPU is the cost in new-handshake rate.');
    if (base) {
      const c = costWithInterval(cpu[3]!, cpu[2]!);
      out(`bae now against bae at ${against}: ${c.cost >= 0 ? '+' : ''}${pct(c.cost)} CPU per handshake (${pct(c.lo)} to ${pct(c.hi)}), 1 − Σ then / Σ now.`);
    }
  } finally {
    try {
      for (const w of servers) await w.stop();
    } finally {
      base?.remove();
    }
  }
}
