// Weaver with no plugins: `node bin/weaver -c bench-config.yaml`, one worker, TLS in its local
// pool, one route to the origin. Access log off and the admin API off, as for every target
// (nginx and haproxy log nothing either). Session tickets off: the handshake test must measure
// full handshakes, and h2load would otherwise resume.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNode } from './node-script.ts';
import type { BenchContext, Target } from './types.ts';

export function weaverConfig(ctx: BenchContext, port: number, name: string): string {
  const file = join(ctx.work, `${name}.yaml`);
  writeFileSync(
    file,
    `# Written by bench/targets/weaver.ts for one bench run.
workers: 1
stateDir: ${JSON.stringify(join(ctx.work, `${name}-state`))}
drainTimeoutMs: 1000
log:
  level: warn
  accessLog: false
listeners:
  - name: bench
    address: 127.0.0.1
    port: ${port}
    pool: primary
handshakePools:
  primary:
    kind: local
    certificates:
      - cert: ${JSON.stringify(ctx.cert.cert)}
        key: ${JSON.stringify(ctx.cert.key)}
    alpn: [h2, http/1.1]
    sessionTickets: false
routes:
  - name: origin
    match: { pathPrefix: / }
    upstream: origin
upstreams:
  origin:
    servers:
      - url: http://127.0.0.1:${ctx.originPort}
http:
  headersTimeoutMs: 120000
  keepAliveTimeoutMs: 120000
admin:
  enabled: false
`,
  );
  return file;
}

export const weaver: Target = {
  id: 'weaver',
  label: 'Weaver (no plugins)',
  kind: 'weaver',
  h2: true,
  unavailable: () => undefined,
  start(ctx, port) {
    const config = weaverConfig(ctx, port, 'weaver');
    return startNode(ctx, 'weaver', [join(ctx.repo, 'bin/weaver'), '-c', config]);
  },
};
