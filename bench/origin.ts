// The origin every proxy forwards to: a fixed 1 KiB response over keep-alive HTTP/1.1. nginx
// (one worker) when it is installed, else a node:http server. It runs on the client core, beside
// the load generator, so the target has core 0 to itself.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLIENT_CORE, startPinned, type Pinned } from './lib/proc.ts';
import { startNginx } from './targets/native-peers.ts';
import type { BenchContext } from './targets/types.ts';

export const ORIGIN_BODY_BYTES = 1024;

export function startOrigin(ctx: BenchContext): { proc: Pinned; kind: string } {
  if (ctx.tools.nginx) {
    const body = 'x'.repeat(ORIGIN_BODY_BYTES);
    const proc = startNginx(
      ctx,
      'origin',
      CLIENT_CORE,
      `  keepalive_timeout 120s;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:${ctx.originPort} backlog=4096;
    location / {
      default_type text/plain;
      return 200 "${body}";
    }
  }`,
    );
    return { proc, kind: 'nginx (1 worker)' };
  }
  const script = fileURLToPath(new URL('./servers/origin.ts', import.meta.url));
  const proc = startPinned('origin', CLIENT_CORE, ctx.node, [script, JSON.stringify({ port: ctx.originPort })], {
    logFile: join(ctx.work, 'origin.log'),
  });
  return { proc, kind: 'node:http (nginx not available)' };
}
