// Processes of the bench: each is pinned to one core with `taskset`, gets a raised fd limit
// with `prlimit`, and is known by its whole process tree (nginx's master and worker, a Node
// server and anything it forked) so CPU and RSS are summed over the tree.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** The core the measured target runs on; the load generator and the origin get the other. */
export const TARGET_CORE = 0;
export const CLIENT_CORE = 1;
/**
 * Open files for targets and clients: 10k idle connections plus the upstream side. Raised to
 * the hard limit (at most 65536): without CAP_SYS_RESOURCE the hard limit cannot be passed.
 */
export const NOFILE = Math.min(65536, Number(spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim()) || 65536);

export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

export interface Pinned {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** The last lines the process wrote, for error messages. */
  tail(): string;
}

const started = new Set<Pinned>();

/**
 * Starts `cmd` pinned to `core` with the fd limit raised; stdout and stderr go to `logFile`
 * (and the last few KiB are kept for error messages).
 */
export function startPinned(name: string, core: number, cmd: string, args: readonly string[], opts: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv }): Pinned {
  const child = spawn('prlimit', [`--nofile=${NOFILE}:${NOFILE}`, 'taskset', '-c', String(core), cmd, ...args], {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  let recent = '';
  const keep = (chunk: Buffer) => {
    log.write(chunk);
    recent = (recent + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      log.end();
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (err) => {
      recent += `\nspawn failed: ${err.message}`;
      resolve('spawn-error');
    });
  });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${cmd}`);
  const p: Pinned = { name, child, pid: child.pid, exited, tail: () => recent };
  started.add(p);
  void exited.then(() => started.delete(p));
  return p;
}

/** The pids of `pid` and every descendant, read from /proc. */
export function processTree(pid: number): number[] {
  const parentOf = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const child = Number(entry);
    if (!Number.isInteger(child)) continue;
    const stat = readStat(child);
    if (!stat) continue;
    const list = parentOf.get(stat.ppid);
    if (list) list.push(child);
    else parentOf.set(stat.ppid, [child]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of parentOf.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

interface Stat {
  ppid: number;
  /** user + system CPU in seconds. */
  cpu: number;
  /** Clock ticks after boot when the process started: with the pid, it names one process. */
  start: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may hold spaces: fields count from the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(fields[1]), cpu: (Number(fields[11]) + Number(fields[12])) / CLK_TCK, start: Number(fields[19]) };
}

/** CPU seconds (user + system) used so far by these processes; gone ones count 0. */
export function cpuSeconds(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) sum += readStat(pid)?.cpu ?? 0;
  return sum;
}

/** VmRSS in KiB summed over the processes. */
export function rssKiB(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) sum += Number(m[1]);
    } catch {
      // gone
    }
  }
  return sum;
}

/** Busy (non-idle) CPU seconds of each core so far, from /proc/stat. */
export function coreBusySeconds(): number[] {
  const out: number[] = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    const busy = v[0]! + v[1]! + v[2]! + v[5]! + v[6]! + v[7]!;
    out[Number(m[1])] = busy / CLK_TCK;
  }
  return out;
}

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, p: Pinned, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitedWith: number | string | undefined;
  void p.exited.then((code) => (exitedWith = code));
  while (Date.now() < deadline) {
    if (exitedWith !== undefined) throw new Error(`${p.name} exited (${exitedWith}) before listening:\n${p.tail()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${p.name} did not listen on port ${port} within ${timeoutMs} ms:\n${p.tail()}`);
}

/** SIGTERM to the whole tree, SIGKILL to what is left after `graceMs`. */
export async function stopPinned(p: Pinned, graceMs = 3_000): Promise<void> {
  const tree = identify(processTree(p.pid));
  for (const t of tree) signal(t, 'SIGTERM');
  const done = await Promise.race([p.exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) for (const t of identify(processTree(p.pid))) signal(t, 'SIGKILL');
  // Workers that outlived their master: only those still the very processes we saw.
  await sleep(50);
  for (const t of tree) signal(t, 'SIGKILL');
  await p.exited;
}

interface Identified {
  pid: number;
  start: number;
}

function identify(pids: readonly number[]): Identified[] {
  return pids.flatMap((pid) => {
    const st = readStat(pid);
    return st ? [{ pid, start: st.start }] : [];
  });
}

/** Signals a process only while its pid still names the process we identified (no reused pid). */
function signal(t: Identified, sig: NodeJS.Signals): void {
  if (readStat(t.pid)?.start !== t.start) return;
  try {
    process.kill(t.pid, sig);
  } catch {
    // already gone
  }
}

/** Ends everything this module started (Ctrl-C, a failure): by pid, tree by tree. */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((p) => stopPinned(p, 1_000)));
}

/** A free TCP port on 127.0.0.1 (the kernel's pick; released before use). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Runs a command to completion (pinned when `core` is given) and returns its output. */
export function runPinned(core: number | undefined, cmd: string, args: readonly string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const argv = core === undefined ? [cmd, ...args] : ['prlimit', `--nofile=${NOFILE}:${NOFILE}`, 'taskset', '-c', String(core), cmd, ...args];
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => {
      stderr += `\n[bench] killed after ${timeoutMs} ms`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: `${stderr}\n${err.message}`, ms: performance.now() - t0 });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}
