// A child process inside a network namespace (`ip netns exec NS …`, which execs, so the pid is
// the program's own). Its stdout is read as JSON lines as they arrive (Weaver's pino log, or
// the reports of the netns-/link- helper scripts); stdin stays open for helpers that take
// commands on it.
import { spawn, type ChildProcess } from 'node:child_process';
import { repoRoot } from './run-weaver.ts';

export type JsonLine = Record<string, unknown>;

export interface NetnsProcess {
  readonly child: ChildProcess;
  readonly lines: JsonLine[];
  stderr(): string;
  /** The first line matching `pred` from index `from` on; rejects after `ms` or when the process ends. */
  waitFor(pred: (line: JsonLine) => boolean, opts?: { from?: number; ms?: number }): Promise<JsonLine>;
  /** Writes one JSON line to the process's stdin. */
  send(message: JsonLine): void;
  /** Resolves with the exit code (or the signal's name) once the process has ended and its output is read. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has ended. */
  stop(graceMs?: number): Promise<void>;
}

/** The Node that runs the tests, so helpers and Weaver get the same pinned Node 24. */
export const nodeBin = process.execPath;

export function spawnInNetns(ns: string, argv: readonly string[]): NetnsProcess {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: JsonLine[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      if (!line.trim()) continue;
      try {
        lines.push(JSON.parse(line) as JsonLine);
      } catch {
        lines.push({ msg: line, unparsed: true });
      }
    }
    for (const w of [...waiters]) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8000)));
  // A helper that died leaves its stdin closed: writing to it must not crash the test.
  child.stdin!.on('error', () => {});
  const exited = new Promise<number | string>((resolve) => {
    child.once('close', (code, signal) => resolve(code ?? signal ?? -1));
    child.once('error', (err) => {
      stderr += `\nspawn failed: ${err.message}`;
      resolve('spawn-error');
    });
  });
  const ended = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    send(message) {
      if (!child.stdin!.destroyed) child.stdin!.write(`${JSON.stringify(message)}\n`);
    },
    waitFor(pred, { from = 0, ms = 15_000 } = {}) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.slice(from).find(pred);
          if (!found) return;
          cleanup();
          resolve(found);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${argv.join(' ')} in ${ns}: no matching line within ${ms} ms; stderr: ${stderr.slice(-2000)}`));
        }, ms);
        const onClose = () => {
          check();
          if (!waiters.has(check)) return;
          cleanup();
          reject(new Error(`${argv.join(' ')} in ${ns} ended before a matching line; stderr: ${stderr.slice(-2000)}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off('close', onClose);
        };
        waiters.add(check);
        child.once('close', onClose);
        check();
      });
    },
    async stop(graceMs = 3000) {
      if (ended()) return void (await exited);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
