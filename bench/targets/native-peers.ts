// The native peers from Debian: nginx and haproxy, one worker process / one thread each, TLS
// termination with HTTP/2 by ALPN, keep-alive connections to the origin, no access log, no
// session resumption (tickets and session cache off, as for every target).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NOFILE, startPinned, TARGET_CORE, type Pinned } from '../lib/proc.ts';
import type { BenchContext, Target } from './types.ts';

/** Temp paths, pid and error log inside `dir`, so nothing outside the run's scratch dir is touched. */
function nginxCommon(dir: string): string {
  return `pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
worker_processes 1;
worker_rlimit_nofile ${NOFILE};
events { worker_connections ${NOFILE - 100}; }
`;
}

function nginxTemps(dir: string): string {
  return ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `  ${t}_temp_path ${join(dir, `${t}_temp`)};`)
    .join('\n');
}

export function startNginx(ctx: BenchContext, name: string, core: number, http: string): Pinned {
  const dir = join(ctx.work, name);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `${nginxCommon(dir)}http {\n${nginxTemps(dir)}\n  access_log off;\n${http}\n}\n`);
  return startPinned(name, core, 'nginx', ['-p', dir, '-c', conf, '-e', join(dir, 'error.log'), '-g', 'daemon off;'], {
    logFile: join(ctx.work, `${name}.log`),
  });
}

export const nginx: Target = {
  id: 'nginx',
  label: 'nginx',
  kind: 'native-peer',
  h2: true,
  unavailable: (ctx) => (ctx.tools.nginx ? undefined : 'nginx is not installed (apt-get install nginx-light failed)'),
  start(ctx, port) {
    return startNginx(
      ctx,
      'nginx',
      TARGET_CORE,
      `  keepalive_timeout 120s;
  keepalive_requests 100000000;
  client_header_timeout 120s;
  upstream origin {
    server 127.0.0.1:${ctx.originPort};
    keepalive 128;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
  }
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${ctx.cert.cert};
    ssl_certificate_key ${ctx.cert.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off;
    ssl_session_tickets off;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto https;
    }
  }`,
    );
  },
};

/**
 * haproxy wants 2 fds per connection (client and server side) and refuses to start when the
 * hard fd limit (20 000 on a machine without CAP_SYS_RESOURCE) cannot cover maxconn.
 */
const HAPROXY_MAXCONN = Math.floor((NOFILE - 14) / 2) - 20;

export const haproxy: Target = {
  id: 'haproxy',
  label: 'haproxy',
  kind: 'native-peer',
  h2: true,
  maxIdleConnections: HAPROXY_MAXCONN - 50,
  unavailable: (ctx) => (ctx.tools.haproxy ? undefined : 'haproxy is not installed (apt-get install haproxy failed)'),
  start(ctx, port) {
    const conf = join(ctx.work, 'haproxy.cfg');
    writeFileSync(
      conf,
      `global
  nbthread 1
  maxconn ${HAPROXY_MAXCONN}
  tune.ssl.cachesize 0
  ssl-default-bind-options no-tls-tickets
defaults
  mode http
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  timeout http-request 120s
  timeout http-keep-alive 120s
  option forwardfor
  http-reuse always
frontend bench
  bind 127.0.0.1:${port} ssl crt ${ctx.cert.combined} alpn h2,http/1.1
  default_backend origin
backend origin
  server origin 127.0.0.1:${ctx.originPort}
`,
    );
    return startPinned('haproxy', TARGET_CORE, 'haproxy', ['-f', conf, '-db'], { logFile: join(ctx.work, 'haproxy.log') });
  },
};
