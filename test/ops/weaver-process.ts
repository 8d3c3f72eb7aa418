// `bin/weaver -c FILE` as a real child process, for what only a process shows: signals, exit
// codes, cluster workers. Its JSON log lines are parsed as they arrive; ports are picked free
// up front, since a reload must find its listeners on the same ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../support/run-weaver.ts';

export type LogLine = Record<string, unknown>;

export interface WeaverProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[];
  stderr(): string;
  /** The first line matching `pred` among those from index `from` on (all by default). */
  waitForLog(pred: (line: LogLine) => boolean, opts?: { from?: number; ms?: number }): Promise<LogLine>;
  /** Resolves with the exit code (or the signal's name) once the process has ended and its output is read. */
  readonly exited: Promise<number | string>;
  kill(signal: NodeJS.Signals): void;
}

/** A port nothing listens on right now (bound on port 0, then let go). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export { tempDir } from '../support/temp-dir.ts';

export function writeConfig(dir: string, yaml: string, name = 'weaver.yaml'): string {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

/** Starts the process and resolves once a log line says it is ready (`admin API listening` by default). */
export async function startWeaverProcess(
  file: string,
  opts: { ready?: (line: LogLine) => boolean; teardown?: (fn: () => Promise<void>) => void } = {},
): Promise<WeaverProcess> {
  const child = spawn(process.execPath, ['bin/weaver', '-c', file], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  let stderr = '';
  const waiters = new Set<() => void>();
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ msg: line, unparsed: true });
      }
    }
    for (const w of [...waiters]) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // 'close', not 'exit': every log line has been read by then (cluster workers share the pipe).
  const exited = new Promise<number | string>((resolve) => child.once('close', (code, signal) => resolve(code ?? signal ?? -1)));
  const proc: WeaverProcess = {
    child,
    logs,
    stderr: () => stderr,
    exited,
    kill: (signal) => void child.kill(signal),
    waitForLog(pred, { from = 0, ms = 15_000 } = {}) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = logs.slice(from).find(pred);
          if (!found) return;
          cleanup();
          resolve(found);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no matching log line within ${ms} ms; stderr: ${stderr.slice(0, 2000)}`));
        }, ms);
        const onExit = () => {
          check();
          if (!waiters.has(check)) return;
          cleanup();
          reject(new Error(`weaver exited before a matching log line; stderr: ${stderr.slice(0, 2000)}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off('close', onExit);
        };
        waiters.add(check);
        child.once('close', onExit);
        check();
      });
    },
  };
  opts.teardown?.(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  await proc.waitForLog(opts.ready ?? ((l) => l.msg === 'admin API listening'));
  return proc;
}

export function msg(text: string): (line: LogLine) => boolean {
  return (line) => line.msg === text;
}

/** One worker, a dev certificate, everything routed to one origin: the shutdown tests' config. */
export function drainConfig(o: { port: number; adminPort: number; originPort: number; drainTimeoutMs: number }): string {
  return `workers: 1
drainTimeoutMs: ${o.drainTimeoutMs}
listeners: [{ name: https, port: ${o.port} }]
handshakePools:
  primary: { kind: local, certificates: [{ dev: true, hosts: [localhost, 127.0.0.1] }] }
routes: [{ upstream: origin }]
upstreams: { origin: { servers: [{ url: "http://127.0.0.1:${o.originPort}" }] } }
admin: { port: ${o.adminPort} }
`;
}
