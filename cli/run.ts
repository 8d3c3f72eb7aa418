// `weaver -c config.yaml`: run the proxy. `workers: 1` is one process; more makes this process a
// cluster primary that forks the workers (each of which comes back here as a cluster worker).
// Signals: SIGHUP reloads the config file, SIGTERM and SIGINT drain and exit 0; a second
// SIGTERM/SIGINT during the drain exits at once with 1.
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { checkConfigText } from '../proxy/config/check.ts';
import { loadConfigText, readConfigFile, type LoadedConfig } from '../proxy/config/load.ts';
import { ClusterPrimary } from '../proxy/cluster/primary.ts';
import { runWorker } from '../proxy/cluster/worker.ts';
import { ConfigError, WeaverError } from '../proxy/errors.ts';
import { createLogger } from '../proxy/log.ts';
import { Weaver } from '../proxy/weaver.ts';
import type { WeaverConfig } from '../proxy/config/schema.ts';

/** How long a stopped process may take to let go of its last handles before it is made to exit. */
const EXIT_GRACE_MS = 1_000;

function workerCount(workers: WeaverConfig['workers']): number {
  return workers === 'auto' ? availableParallelism() : workers;
}

export async function runCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args: args[0] === 'run' ? args.slice(1) : args,
    options: { config: { type: 'string', short: 'c', default: 'weaver.yaml' } },
    strict: true,
  });
  try {
    if (cluster.isWorker) return await asWorker();
    const file = values.config!;
    const text = await readConfigFile(file);
    const loaded = loadConfigText(text, file);
    const workers = workerCount(loaded.config.workers);
    return workers === 1 ? await single(loaded) : await primary(text, file, workers);
  } catch (err) {
    if (err instanceof ConfigError) process.stderr.write(`weaver: invalid configuration\n${err.message}\n`);
    else if (err instanceof WeaverError) process.stderr.write(`weaver: ${err.code}: ${err.message}\n`);
    else throw err;
    // A worker's own exit code tells the primary it failed (disconnecting would exit with 0).
    if (cluster.isWorker) process.exit(1);
    return 1;
  }
}

/** An edge proxy keeps serving everyone else when one piece of code misbehaves outside a hook
 *  (a plugin's timer, a stray rejection): log it loudly instead of dropping every connection. */
function survive(log: Logger): void {
  process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception'));
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
}

/** Resolves with 0 once `stop` has finished after SIGTERM/SIGINT, 1 if it failed. */
function onStopSignals(log: Logger, stop: () => Promise<void>): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: string) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting without waiting for the drain');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'stopping');
      stop().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err }, 'stop failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    process.on('SIGINT', () => onSignal('SIGINT'));
  }).then((code) => {
    setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
    return code;
  });
}

async function single(loaded: LoadedConfig): Promise<number> {
  const weaver = await Weaver.start(loaded);
  survive(weaver.log);
  // The outcome, good or bad, is logged by the reload itself.
  process.on('SIGHUP', () => void weaver.reloadFromFile().catch(() => undefined));
  return onStopSignals(weaver.log, () => weaver.stop());
}

/** `text` is the file's, as read once: the primary checks it (plugins, certificates) and hands it to the workers. */
async function primary(text: string, file: string, workers: number): Promise<number> {
  const checked = await checkConfigText(text, file);
  if (!checked.ok) throw new ConfigError(checked.issues);
  const log = createLogger(checked.loaded.config.log.level);
  const p = await ClusterPrimary.start(checked.loaded, text, workers, log);
  survive(log);
  process.on('SIGHUP', () => void p.reload().catch(() => undefined));
  return onStopSignals(log, () => p.stop());
}

async function asWorker(): Promise<number> {
  const code = await runWorker((weaver) => survive(weaver.log));
  // The IPC channel would keep a drained worker alive; its exit code is what the primary reads.
  process.exit(code);
}
