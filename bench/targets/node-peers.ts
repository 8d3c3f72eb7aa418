// The Node peers, installed into bench/peers/ by the bench: node-http-proxy and
// @fastify/http-proxy. Both run one process on the target core.
import { startNodeServer } from './node-script.ts';
import type { BenchContext, Target } from './types.ts';

function peersUnavailable(ctx: BenchContext): string | undefined {
  return ctx.peersOk ? undefined : 'the npm install of the peers failed';
}

export const nodeHttpProxy: Target = {
  id: 'node-http-proxy',
  label: 'node-http-proxy',
  kind: 'node-peer',
  h2: false,
  unavailable: peersUnavailable,
  start: (ctx, port) => startNodeServer(ctx, 'node-http-proxy', 'node-http-proxy.ts', port),
};

export const fastifyProxy: Target = {
  id: 'fastify',
  label: '@fastify/http-proxy',
  kind: 'node-peer',
  h2: true,
  unavailable: peersUnavailable,
  start: (ctx, port) => startNodeServer(ctx, 'fastify', 'fastify-proxy.ts', port),
};
