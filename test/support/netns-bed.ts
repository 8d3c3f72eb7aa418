// A two-namespace test bed for bonded sessions: an edge namespace and an endpoint namespace
// joined by N veth paths on separate subnets, each path's rate shaped with tbf on both ends,
// plus one veth from the root namespace to each side so the test process itself reaches the
// edge's listeners and hosts the origin (clients and origins run in-process; only Weaver and
// the helper scripts run inside the namespaces, via `ip netns exec`).
//
//   test process (root ns) ── root link ── edge ns ══ p0 … pN-1 ══ endpoint ns ── root link ── test process
//
// Addresses are all in 198.19.0.0/16: path i is 198.19.{i+1}.0/24 (edge .1, endpoint .2),
// the same in every bed since namespaces do not share routes; the two root links of a bed are
// a random /29 from 198.19.128.0/17 (they live in the root namespace, so parallel beds must not
// collide). Names are `bond-<pid>-<hex>-e|o`: a bed whose owning process is gone is stale, and
// the next bed removes it before starting (a killed run leaves nothing behind for long).
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { nodeBin, spawnInNetns, type NetnsProcess } from './netns-process.ts';

export interface BedPath {
  readonly index: number;
  /** Device name on both sides (`p0`, `p1`, …). */
  readonly dev: string;
  readonly edgeAddr: string;
  readonly endpointAddr: string;
}

export interface NetnsBed {
  readonly id: string;
  readonly edge: string;
  readonly endpoint: string;
  /** Root-namespace side and edge side of the root ↔ edge link. */
  readonly rootEdge: { readonly root: string; readonly edge: string };
  /** Root-namespace side and endpoint side of the root ↔ endpoint link (the origin listens on `root`). */
  readonly rootEndpoint: { readonly root: string; readonly endpoint: string };
  readonly paths: readonly BedPath[];
  /** Shapes path `index` to `rateMbit` on both ends (null removes the shaping). */
  shape(index: number, rateMbit: number | null): void;
  /** Bytes a namespace has sent on a device (kernel counter). */
  txBytes(ns: string, dev: string): number;
  /** Runs `ip ARGS` inside `ns` and returns its stdout. */
  ip(ns: string, args: readonly string[]): string;
  /** Starts `argv` in `ns`; it is stopped when the bed is destroyed. */
  spawn(ns: string, argv: readonly string[]): NetnsProcess;
  /** Starts a TypeScript script of this repo with the tests' Node in `ns`. */
  node(ns: string, script: string, args?: readonly string[]): NetnsProcess;
  destroy(): Promise<void>;
}

export interface BedOptions {
  /** Number of paths (2 or 3 in the tests), default 2. */
  paths?: number;
  /** Rate of every path in Mbit/s (tbf), default 100; null leaves the paths unshaped. */
  rateMbit?: number | null;
}

const PREFIX = 'bond-';
const live = new Set<NetnsBed>();

function sh(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function tryRun(cmd: string, args: readonly string[]): void {
  try {
    sh(cmd, args);
  } catch {
    // Removal of something already gone.
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function listNamespaces(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

/** Kills what still runs in `ns` (only processes of a bed: ours or a dead run's) and removes it. */
function removeNamespace(ns: string): void {
  let pids: number[] = [];
  try {
    pids = sh('ip', ['netns', 'pids', ns]).split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // Already gone.
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Ended meanwhile.
    }
  }
  // Deleting a namespace destroys its veth ends, and with them their peers in the root namespace.
  tryRun('ip', ['netns', 'del', ns]);
}

/** Removes the namespaces of beds whose owning process has ended (a killed or crashed run). */
export function cleanStaleBeds(): string[] {
  const removed: string[] = [];
  for (const ns of listNamespaces()) {
    const m = /^bond-(\d+)-[0-9a-f]+-[eo]$/.exec(ns);
    if (!m || alive(Number(m[1]))) continue;
    removeNamespace(ns);
    removed.push(ns);
  }
  return removed;
}

function destroyAllSync(): void {
  for (const bed of live) {
    removeNamespace(bed.edge);
    removeNamespace(bed.endpoint);
  }
  live.clear();
}

let hooksInstalled = false;
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // t.teardown covers failed assertions and thrown errors; these cover the process being
  // stopped (tap's timeout sends SIGTERM), and SIGKILL is covered by cleanStaleBeds.
  process.once('exit', destroyAllSync);
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(sig, () => {
      destroyAllSync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGHUP' ? 1 : 15));
    });
  }
}

/** A /29 in 198.19.128.0/17 whose addresses no root-namespace interface has yet. */
function pickRootBlock(): number {
  const used = new Set(
    Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address)),
  );
  for (let i = 0; i < 50; i++) {
    const base = (198 << 24 >>> 0) + (19 << 16) + (128 << 8) + randomInt(0, 4096) * 8;
    if (![1, 2, 5, 6].some((o) => used.has(ntoa(base + o)))) return base;
  }
  throw new Error('no free 198.19.128.0/17 block for the bed’s root links');
}

function ntoa(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** tbf on one end of a path: a burst of a few ms at the rate, a queue of at most 20 ms. */
function tbfArgs(ns: string, dev: string, rateMbit: number): string[] {
  const burstBytes = Math.max(16_000, Math.round((rateMbit * 1e6 / 8) * 0.002));
  return ['-n', ns, 'qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', `${rateMbit}mbit`, 'burst', String(burstBytes), 'latency', '20ms'];
}

export async function createBed(t: { teardown(fn: () => unknown): void } | null, opts: BedOptions = {}): Promise<NetnsBed> {
  installExitHooks();
  cleanStaleBeds();
  const count = opts.paths ?? 2;
  if (!Number.isInteger(count) || count < 1 || count > 8) throw new Error(`a bed has 1 to 8 paths, not ${count}`);
  const rate = opts.rateMbit === undefined ? 100 : opts.rateMbit;
  const suffix = randomBytes(3).toString('hex');
  const id = `${process.pid}-${suffix}`;
  const edge = `${PREFIX}${id}-e`;
  const endpoint = `${PREFIX}${id}-o`;
  const base = pickRootBlock();
  const rootEdge = { root: ntoa(base + 1), edge: ntoa(base + 2) };
  const rootEndpoint = { root: ntoa(base + 5), endpoint: ntoa(base + 6) };
  const rootEdgeDev = `bd${suffix}e`;
  const rootEndpointDev = `bd${suffix}o`;
  const paths: BedPath[] = Array.from({ length: count }, (_, i) => ({
    index: i,
    dev: `p${i}`,
    edgeAddr: `198.19.${i + 1}.1`,
    endpointAddr: `198.19.${i + 1}.2`,
  }));
  const processes = new Set<NetnsProcess>();
  let destroyed = false;

  const bed: NetnsBed = {
    id,
    edge,
    endpoint,
    rootEdge,
    rootEndpoint,
    paths,
    shape(index, rateMbit) {
      const path = paths[index]!;
      for (const ns of [edge, endpoint]) {
        if (rateMbit === null) tryRun('tc', ['-n', ns, 'qdisc', 'del', 'dev', path.dev, 'root']);
        else sh('tc', tbfArgs(ns, path.dev, rateMbit));
      }
    },
    txBytes(ns, dev) {
      return Number(sh('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${dev}/statistics/tx_bytes`]).trim());
    },
    ip(ns, args) {
      return sh('ip', ['-n', ns, ...args]);
    },
    spawn(ns, argv) {
      const proc = spawnInNetns(ns, argv);
      processes.add(proc);
      void proc.exited.then(() => processes.delete(proc));
      return proc;
    },
    node(ns, script, args = []) {
      return bed.spawn(ns, [nodeBin, script, ...args]);
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await Promise.all([...processes].map((p) => p.stop(2000)));
      removeNamespace(edge);
      removeNamespace(endpoint);
      live.delete(bed);
    },
  };
  live.add(bed);
  t?.teardown(() => bed.destroy());

  try {
    sh('ip', ['netns', 'add', edge]);
    sh('ip', ['netns', 'add', endpoint]);
    for (const ns of [edge, endpoint]) sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    for (const p of paths) {
      sh('ip', ['link', 'add', p.dev, 'netns', edge, 'type', 'veth', 'peer', 'name', p.dev, 'netns', endpoint]);
      sh('ip', ['-n', edge, 'addr', 'add', `${p.edgeAddr}/24`, 'dev', p.dev]);
      sh('ip', ['-n', endpoint, 'addr', 'add', `${p.endpointAddr}/24`, 'dev', p.dev]);
      sh('ip', ['-n', edge, 'link', 'set', p.dev, 'up']);
      sh('ip', ['-n', endpoint, 'link', 'set', p.dev, 'up']);
    }
    const rootLink = (dev: string, ns: string, rootAddr: string, nsAddr: string) => {
      sh('ip', ['link', 'add', dev, 'type', 'veth', 'peer', 'name', 'root', 'netns', ns]);
      sh('ip', ['addr', 'add', `${rootAddr}/30`, 'dev', dev]);
      sh('ip', ['-n', ns, 'addr', 'add', `${nsAddr}/30`, 'dev', 'root']);
      sh('ip', ['link', 'set', dev, 'up']);
      sh('ip', ['-n', ns, 'link', 'set', 'root', 'up']);
    };
    rootLink(rootEdgeDev, edge, rootEdge.root, rootEdge.edge);
    rootLink(rootEndpointDev, endpoint, rootEndpoint.root, rootEndpoint.endpoint);
    if (rate !== null) for (const p of paths) bed.shape(p.index, rate);
  } catch (err) {
    await bed.destroy();
    throw err;
  }
  return bed;
}
