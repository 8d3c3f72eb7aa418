// Runs bin/weaver as a child process for the evaluation (so the load it measures does not
// share an event loop with the client), on free loopback ports, and stops it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/ops/weaver-process.ts';
import { sharedDataPath } from '../../test/support/shared-data.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

const lists = ['ja3/sslbl_ja3_fingerprints.csv', 'ja3/salesforce_osx-nix-ja3.csv', 'ja3/trisul_ja3fingerprint.jsonl', 'ja4/ja4plus-mapping.csv', 'ja4/ja4db_verified.json'].map(sharedDataPath);

/** bae's options for the eval as YAML flow text: the shared fingerprint lists, training from 300 handshakes, and `extra`. */
export const baeOptions = (extra: string, threshold: number, retrainMs: number): string =>
  `{ threshold: ${threshold}, rejectThreshold: ${Math.max(threshold, 0.9)}, lists: ${JSON.stringify(lists)}, model: { minSamples: 300, retrainIntervalMs: ${retrainMs} }${extra} }`;

/** The cost runs: observe-only, so every handshake is analysed and none routed; training on the default 60 s timer, as a deployment would. */
export const COST_OPTIONS = baeOptions(', observeOnly: true', 0.99, 60_000);

export interface Running {
  port: number;
  adminPort: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface EvalConfig {
  /** The bae plugin's options as YAML flow text, or undefined for no plugin. */
  bae: string | undefined;
  originPort: number;
  /** Another plugin in bae's place (its options in `bae`), to compare against. */
  plugin?: string;
  /** The checkout to run Weaver and bae from (another revision, to compare against); this one by default. */
  root?: string;
  /** A command to run node under (valgrind, for cache-profile.ts), and extra node flags. */
  wrap?: readonly string[];
  nodeArgs?: readonly string[];
}

export async function startWeaver(cfg: EvalConfig): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'weaver-eval-'));
  const [port, adminPort] = [await freePort(), await freePort()];
  const root = cfg.root ?? repoRoot;
  const yaml = `
stateDir: ${dir}/state
workers: 1
log: { level: warn, accessLog: false }
listeners: [{ name: https, address: 127.0.0.1, port: ${port}, pool: primary, clientHello: { timeoutMs: 10000 } }]
handshakePools:
  primary: { kind: local, certificates: [{ dev: true, hosts: [localhost, 127.0.0.1] }] }
  strict: { kind: local, certificates: [{ dev: true, hosts: [localhost, 127.0.0.1] }], minVersion: TLSv1.3, handshakeTimeoutMs: 3000 }
routes: [{ match: { pathPrefix: / }, upstream: origin }]
upstreams:
  origin: { servers: [{ url: "http://127.0.0.1:${cfg.originPort}" }] }
plugins:
${cfg.bae === undefined ? '  []' : `  - use: ${cfg.plugin ?? `${root}plugins/bae/index.ts`}\n    options: ${cfg.bae}`}
admin: { address: 127.0.0.1, port: ${adminPort} }
`.replace('plugins:\n  []', 'plugins: []');
  const file = join(dir, 'weaver.yaml');
  writeFileSync(file, yaml);
  // BAE_EVAL_NODE_ARGS: extra node flags for the Weaver process (e.g. --cpu-prof, --trace-gc to see
  // where time goes); with them its stdout is shown.
  const nodeArgs = process.env.BAE_EVAL_NODE_ARGS ? process.env.BAE_EVAL_NODE_ARGS.split(' ') : [];
  const [command, ...args] = [...(cfg.wrap ?? []), process.execPath, ...(cfg.nodeArgs ?? []), ...nodeArgs, 'bin/weaver', '-c', file];
  const child = spawn(command!, args, { cwd: root, stdio: ['ignore', nodeArgs.length ? 'inherit' : 'ignore', 'inherit'] });
  // Under valgrind, starting takes a minute.
  for (let i = 0; i < (cfg.wrap ? 2_400 : 300); i++) {
    if (child.exitCode !== null) throw new Error(`weaver exited with ${child.exitCode}`);
    try {
      const res = await fetch(`http://127.0.0.1:${adminPort}/readyz`);
      if (res.ok) break;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    adminPort,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
