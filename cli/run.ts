// `weaver -c config.yaml`: load, start, and stop cleanly on SIGTERM/SIGINT.
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../proxy/config/load.ts';
import { ConfigError, WeaverError } from '../proxy/errors.ts';
import { Weaver } from '../proxy/weaver.ts';

export async function runCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args: args[0] === 'run' ? args.slice(1) : args,
    options: { config: { type: 'string', short: 'c', default: 'weaver.yaml' } },
    strict: true,
  });
  let weaver: Weaver;
  try {
    weaver = await Weaver.start(await loadConfigFile(values.config!));
  } catch (err) {
    if (err instanceof ConfigError) process.stderr.write(`weaver: invalid configuration\n${err.message}\n`);
    else if (err instanceof WeaverError) process.stderr.write(`weaver: ${err.code}: ${err.message}\n`);
    else throw err;
    return 1;
  }
  // An edge proxy keeps serving everyone else when one piece of code misbehaves outside a hook
  // (a plugin's timer, a stray rejection): log it loudly instead of dropping every connection.
  process.on('uncaughtException', (err) => weaver.log.error({ err }, 'uncaught exception'));
  process.on('unhandledRejection', (err) => weaver.log.error({ err }, 'unhandled rejection'));
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      weaver.log.info({ signal }, 'stopping');
      weaver.stop(10_000).then(
        () => resolve(0),
        (err: unknown) => {
          weaver.log.error({ err }, 'stop failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
