// Starts a real Weaver in the test process from YAML text: real sockets on loopback port 0,
// logs captured as parsed JSON so tests can assert the line each bad input leaves.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfigText } from '../../proxy/config/load.ts';
import { createLogger } from '../../proxy/log.ts';
import { Weaver } from '../../proxy/weaver.ts';

export interface Harness {
  weaver: Weaver;
  port: number;
  adminPort: number;
  dir: string;
  logs: Array<Record<string, unknown>>;
  /** Resolves with the first log line that matches, waiting up to `ms`. */
  waitForLog(pred: (line: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export { repoRoot } from './run-weaver.ts';

export interface StartWeaverOptions {
  listener?: string;
  /** Prepares the config's directory (files, a node_modules of plugins) before the start. */
  setup?: (dir: string) => void;
}

export async function startWeaver(yaml: string, opts: StartWeaverOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'weaver-test-'));
  opts.setup?.(dir);
  const file = join(dir, 'weaver.yaml');
  writeFileSync(file, yaml);
  const logs: Array<Record<string, unknown>> = [];
  const waiters = new Set<{ pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }>();
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (!text) continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        logs.push(line);
        for (const w of waiters) {
          if (w.pred(line)) {
            waiters.delete(w);
            w.resolve(line);
          }
        }
      }
      done();
    },
  });
  const loaded = loadConfigText(yaml, file);
  let weaver: Weaver;
  try {
    weaver = await Weaver.start(loaded, { log: createLogger('debug', sink), processMetrics: false });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const listener = opts.listener ?? loaded.config.listeners[0]!.name;
  return {
    weaver,
    port: weaver.port(listener),
    adminPort: weaver.admin?.port ?? 0,
    dir,
    logs,
    waitForLog(pred, ms = 5_000) {
      const found = logs.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        waiters.add(w);
        setTimeout(() => {
          if (waiters.delete(w)) reject(new Error('no matching log line'));
        }, ms).unref();
      });
    },
    async stop() {
      await weaver.stop(1_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
