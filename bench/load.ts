// The load generators, pinned to the client core: wrk (HTTP/1.1 keep-alive, with its latency
// percentiles) or h2load --h1 when wrk is missing, h2load for HTTP/2, and h2load --h1 with
// `Connection: close` for new handshakes (one request per connection).
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_CORE, CLK_TCK, runPinned } from './lib/proc.ts';

export interface Durations {
  /** Seconds of load before measuring (JIT, connection pools, TCP windows). */
  warmup: number;
  /** Seconds measured. */
  measure: number;
}

export interface LoadResult {
  /** Requests per second (handshakes per second in the handshake test). */
  rate: number;
  /** 99th percentile latency in ms (HTTP/1.1 test only). */
  p99Ms?: number;
  requests: number;
  /** Failed, errored, timed-out requests and socket errors. */
  errors: number;
  /** Responses that were not 2xx. */
  non2xx: number;
  /** Slowest request in ms (h2load only): a stall shows here first. */
  maxMs?: number;
  /** Seconds the measurement covered. */
  seconds: number;
  /** CPU seconds the load generator used (warm-up included). */
  clientCpu: number;
  /** Wall seconds the load generator ran (warm-up included). */
  clientWall: number;
  tls?: string;
  /** Output of the tool when something looked wrong. */
  note?: string;
}

export class LoadError extends Error {}

/** Connections of the HTTP/1.1 keep-alive test. */
export const H1_CONNECTIONS = 64;
/** HTTP/2: connections × concurrent streams each. */
export const H2_CONNECTIONS = 8;
export const H2_STREAMS = 16;
/** Concurrent connections of the handshake tests. */
export const HS_CONNECTIONS = 32;
/**
 * One TLS 1.3 suite for h2load, so every target encrypts alike: the Node servers and haproxy
 * pick AES-256-GCM, nginx honours the client's order, where h2load puts AES-128 first. wrk's
 * (OpenSSL's default) order already starts with AES-256-GCM.
 */
export const TLS13_SUITE = 'TLS_AES_256_GCM_SHA384';

/**
 * Runs `cmd` on the client core through `sh`, which reports the CPU its child used (cutime and
 * cstime of the shell, read after the tool exited) on the last line of stderr.
 */
async function runTool(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; out: string; cpu: number; wall: number }> {
  const script = '"$@"; rc=$?; echo "BENCH_CPU $(cut -d" " -f16,17 /proc/$$/stat)" >&2; exit $rc';
  const r = await runPinned(CLIENT_CORE, 'sh', ['-c', script, 'sh', cmd, ...args], timeoutMs);
  const m = /BENCH_CPU (\d+) (\d+)/.exec(r.stderr);
  const ticks = m ? Number(m[1]) + Number(m[2]) : 0;
  return { code: r.code, out: `${r.stdout}\n${r.stderr.replace(/BENCH_CPU.*\n?/, '')}`, cpu: ticks / CLK_TCK, wall: r.ms / 1000 };
}

function seconds(value: string, unit: string): number {
  const v = Number(value);
  return unit === 'ms' ? v / 1000 : unit === 'us' ? v / 1e6 : unit === 'm' ? v * 60 : v;
}

function ms(value: string, unit: string): number {
  return seconds(value, unit) * 1000;
}

function tail(text: string): string {
  return text.trim().split('\n').slice(-12).join('\n');
}

interface H2loadSummary {
  rate: number;
  seconds: number;
  requests: number;
  errors: number;
  non2xx: number;
  maxMs?: number;
  tls?: string;
}

/** The summary h2load prints: "finished in 6.00s, 12345.67 req/s", requests and status codes. */
export function parseH2load(out: string): H2loadSummary {
  const fin = /finished in ([\d.]+)(ms|us|s), ([\d.]+) req\/s/.exec(out);
  const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  if (!fin || !req || !status) throw new LoadError(`unexpected h2load output:\n${tail(out)}`);
  const slowest = /time for request:\s+[\d.]+(?:us|ms|s)\s+([\d.]+)(us|ms|s)/.exec(out);
  const proto = /TLS Protocol: (\S+)/.exec(out)?.[1];
  const cipher = /Cipher: (\S+)/.exec(out)?.[1];
  const alpn = /Application protocol: (\S+)/.exec(out)?.[1];
  return {
    rate: Number(fin[3]),
    seconds: seconds(fin[1]!, fin[2]!),
    requests: Number(req[3]),
    errors: Number(req[5]) + Number(req[7]) + (Number(req[1]) - Number(req[3])),
    non2xx: Number(status[2]) + Number(status[3]) + Number(status[4]),
    maxMs: slowest ? ms(slowest[1]!, slowest[2]!) : undefined,
    tls: proto && `${proto} ${cipher ?? ''} ${alpn ?? ''}`.trim(),
  };
}

/** wrk --latency: "Requests/sec:", "N requests in Xs", the 99% line, socket errors, non-2xx. */
export function parseWrk(out: string): H2loadSummary & { p99Ms: number } {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const total = /(\d+) requests in ([\d.]+)(ms|us|s|m),/.exec(out);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
  if (!rps || !total || !p99) throw new LoadError(`unexpected wrk output:\n${tail(out)}`);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return { rate: Number(rps[1]), seconds: seconds(total[2]!, total[3]!), requests: Number(total[1]), errors, non2xx, p99Ms: ms(p99[1]!, p99[2]!) };
}

/** p99 of the durations in an h2load --log-file (start µs, status, duration µs per line). */
function p99FromLog(file: string): number {
  const durations = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => Number(l.split('\t')[2]))
    .filter((d) => Number.isFinite(d) && d > 0)
    .sort((a, b) => a - b);
  if (durations.length === 0) return NaN;
  return durations[Math.min(durations.length - 1, Math.floor(durations.length * 0.99))]! / 1000;
}

function url(port: number): string {
  return `https://127.0.0.1:${port}/`;
}

function check(code: number | null, out: string, what: string): void {
  if (code !== 0) throw new LoadError(`${what} exited with ${code}:\n${tail(out)}`);
}

/** HTTP/1.1 keep-alive over TLS: req/s and p99 latency. */
export async function h1KeepAlive(port: number, d: Durations, tool: 'wrk' | 'h2load', work: string): Promise<LoadResult> {
  const c = String(H1_CONNECTIONS);
  const limit = (d.warmup + d.measure + 30) * 1000;
  if (tool === 'wrk') {
    let cpu = 0;
    let wall = 0;
    if (d.warmup > 0) {
      const w = await runTool('wrk', ['-t1', `-c${c}`, `-d${d.warmup}s`, url(port)], limit);
      check(w.code, w.out, 'wrk (warm-up)');
      cpu += w.cpu;
      wall += w.wall;
    }
    const r = await runTool('wrk', ['-t1', `-c${c}`, `-d${d.measure}s`, '--latency', '--timeout', '10s', url(port)], limit);
    check(r.code, r.out, 'wrk');
    const s = parseWrk(r.out);
    return { ...s, clientCpu: cpu + r.cpu, clientWall: wall + r.wall, tls: 'http/1.1' };
  }
  const log = join(work, 'h1-latency.log');
  rmSync(log, { force: true });
  const r = await runTool('h2load', ['--h1', '-t1', `--tls13-ciphers=${TLS13_SUITE}`, `-c${c}`, `-D${d.measure}`, `--warm-up-time=${d.warmup}`, `--log-file=${log}`, url(port)], limit);
  check(r.code, r.out, 'h2load --h1');
  const s = parseH2load(r.out);
  const p99Ms = p99FromLog(log);
  rmSync(log, { force: true });
  return { ...s, p99Ms, clientCpu: r.cpu, clientWall: r.wall };
}

/** HTTP/2 over TLS (ALPN h2): req/s. */
export async function h2Streams(port: number, d: Durations): Promise<LoadResult> {
  const r = await runTool(
    'h2load',
    ['-t1', `--tls13-ciphers=${TLS13_SUITE}`, `-c${H2_CONNECTIONS}`, `-m${H2_STREAMS}`, `-D${d.measure}`, `--warm-up-time=${d.warmup}`, url(port)],
    (d.warmup + d.measure + 30) * 1000,
  );
  check(r.code, r.out, 'h2load');
  const s = parseH2load(r.out);
  if (s.tls && !s.tls.endsWith(' h2')) throw new LoadError(`h2load did not negotiate h2 (${s.tls})`);
  return { ...s, clientCpu: r.cpu, clientWall: r.wall };
}

/**
 * New TLS handshakes per second: `count` connections, each a full handshake, one request with
 * `Connection: close`, closed by the server; HS_CONNECTIONS at a time. h2load reconnects after
 * each close (its duration mode does not stop with `Connection: close`, hence a count).
 * h2load would resume the TLS session on reconnect: every target has resumption off, and
 * `run.ts` checks that before measuring. A connection silent for 10 s is dropped (counted as
 * an error) so one stalled connection cannot hold the run up.
 */
export async function handshakes(port: number, count: number): Promise<LoadResult> {
  const r = await runTool(
    'h2load',
    ['--h1', '-t1', `--tls13-ciphers=${TLS13_SUITE}`, '--connection-inactivity-timeout=10', `-c${HS_CONNECTIONS}`, `-n${count}`, '-H', 'Connection: close', url(port)],
    Math.max(60_000, count * 20),
  );
  check(r.code, r.out, 'h2load --h1 (handshakes)');
  return { ...parseH2load(r.out), clientCpu: r.cpu, clientWall: r.wall };
}
