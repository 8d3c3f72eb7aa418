// Starting one of bench/servers/*.ts with the project's Node, pinned to the target core.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPinned, TARGET_CORE, type Pinned } from '../lib/proc.ts';
import type { ServerArgs } from '../servers/args.ts';
import type { BenchContext } from './types.ts';

const serversDir = fileURLToPath(new URL('../servers/', import.meta.url));

export function startNodeServer(ctx: BenchContext, id: string, script: string, port: number, extra: Partial<ServerArgs> = {}): Pinned {
  const args: ServerArgs = { port, originPort: ctx.originPort, cert: ctx.cert.cert, key: ctx.cert.key, peersDir: ctx.peersDir, ...extra };
  return startPinned(id, TARGET_CORE, ctx.node, [join(serversDir, script), JSON.stringify(args)], {
    logFile: join(ctx.work, `${id}.log`),
    cwd: ctx.repo,
    env: { ...process.env, NODE_ENV: 'production' },
  });
}
