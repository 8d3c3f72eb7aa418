// Starting the project's Node pinned to the target core: Weaver's bin, or one of bench/servers/*.ts.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPinned, TARGET_CORE, type Pinned } from '../lib/proc.ts';
import type { ServerArgs } from '../servers/args.ts';
import type { BenchContext } from './types.ts';

const serversDir = fileURLToPath(new URL('../servers/', import.meta.url));

/** `node ...argv` on the target core, its output in `<id>.log` of the run's scratch directory. */
export function startNode(ctx: BenchContext, id: string, argv: string[]): Pinned {
  return startPinned(id, TARGET_CORE, ctx.node, argv, {
    logFile: join(ctx.work, `${id}.log`),
    cwd: ctx.repo,
    env: { ...process.env, NODE_ENV: 'production' },
  });
}

export function startNodeServer(ctx: BenchContext, id: string, script: string, port: number, extra: Partial<ServerArgs> = {}): Pinned {
  const args: ServerArgs = { port, originPort: ctx.originPort, cert: ctx.cert.cert, key: ctx.cert.key, peersDir: ctx.peersDir, ...extra };
  return startNode(ctx, id, [join(serversDir, script), JSON.stringify(args)]);
}
