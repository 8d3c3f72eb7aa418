// The ClientHello-path pair: a plain node:tls server, and Weaver's listener doing the same work
// (handshake, canned answer) with no plugins. Their handshake rates give the path's cost.
import { startNodeServer } from './node-script.ts';
import { weaverConfig } from './weaver.ts';
import type { Target } from './types.ts';

export const plainTls: Target = {
  id: 'plain-tls',
  label: 'plain node:tls server',
  kind: 'baseline',
  h2: false,
  unavailable: () => undefined,
  start: (ctx, port) => startNodeServer(ctx, 'plain-tls', 'plain-tls.ts', port),
};

export const weaverHello: Target = {
  id: 'weaver-hello',
  label: "Weaver's listener (no plugins)",
  kind: 'baseline',
  h2: false,
  unavailable: () => undefined,
  start: (ctx, port) => startNodeServer(ctx, 'weaver-hello', 'weaver-hello.ts', port, { config: weaverConfig(ctx, port, 'weaver-hello') }),
};
