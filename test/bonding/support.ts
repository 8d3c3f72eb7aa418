// A bonded pair on loopback: an origin, an endpoint Weaver accepting channels on 127.0.0.2 and
// 127.0.0.3 (each channel is its own TCP connection on its own address pair), and an edge
// Weaver whose upstream goes `via: bond:main`. Channels can be routed through relays the test
// controls (cut, blackhole) by pointing `remote` at the relay instead of the endpoint.
import { createHash, randomBytes } from 'node:crypto';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Test } from 'tap';
import { Agent, request } from 'undici';
import { makeTestCert, type TestCert } from '../support/test-cert.ts';
import { repoRoot, startWeaver, type Harness } from '../support/weaver-harness.ts';
import { edgePluginYaml } from './edge-yaml.ts';

export const PLUGIN = `${repoRoot}plugins/bonding-upstream/index.ts`;

export function pin(c: TestCert): string {
  return new X509Certificate(c.cert).fingerprint256;
}

let certs: { edge: TestCert; endpoint: TestCert; rogue: TestCert } | undefined;
export function testCerts() {
  certs ??= { edge: makeTestCert(['edge']), endpoint: makeTestCert(['endpoint']), rogue: makeTestCert(['rogue']) };
  return certs;
}

/** 8 MiB of random bytes and their SHA-256, shared by the tests of one file. */
export const BLOB = randomBytes(8 * 1024 * 1024);
export const BLOB_SHA = sha256(BLOB);

export function sha256(b: Buffer | Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

export interface Origin {
  port: number;
  close(): Promise<void>;
}

/** GET /blob: BLOB (in 64 KiB writes); POST /hash (/hash-slowly): SHA-256 and length of the body; GET /: "ok". */
export async function startOrigin(t: Test): Promise<Origin> {
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && (req.url === '/hash' || req.url === '/hash-slowly')) {
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => {
        h.update(c);
        n += c.length;
        // A slow reader: the upload stays in flight long enough to lose a path under it.
        if (req.url === '/hash-slowly') {
          req.pause();
          setTimeout(() => req.resume(), 2);
        }
      });
      req.on('end', () => res.end(JSON.stringify({ sha256: h.digest('hex'), bytes: n })));
      return;
    }
    if (req.url === '/blob') {
      res.writeHead(200, { 'content-length': BLOB.length });
      let at = 0;
      const more = (): void => {
        while (at < BLOB.length) {
          const end = Math.min(at + 65_536, BLOB.length);
          const ok = res.write(BLOB.subarray(at, end));
          at = end;
          if (!ok) return void res.once('drain', more);
        }
        res.end();
      };
      return more();
    }
    res.end('ok');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
  t.teardown(() => origin.close());
  return origin;
}

export async function freePort(host: string): Promise<number> {
  const s = net.createServer().listen(0, host);
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface EndpointOpts {
  listen: string[];
  allow: string[];
  edgeCert?: TestCert;
  extra?: string;
}

/** The usual bed: two paths, 127.0.0.2 and 127.0.0.3, the endpoint on the same port on both. */
export const twoListens = (port: number): string[] => [`127.0.0.2:${port}`, `127.0.0.3:${port}`];
export const twoChannels = (port: number): Array<{ name: string; remote: string }> => [
  { name: 'a', remote: `127.0.0.2:${port}` },
  { name: 'b', remote: `127.0.0.3:${port}` },
];

export async function startEndpoint(t: Test, o: EndpointOpts): Promise<Harness> {
  const c = testCerts();
  const h = await startWeaver(`
listeners: [{ name: https, port: 0 }]
handshakePools:
  primary:
    kind: local
    certificates: [{ cert: ${c.endpoint.certFile}, key: ${c.endpoint.keyFile} }]
admin: { port: 0 }
log: { accessLog: false }
plugins:
  - use: ${PLUGIN}
    options:
      endpoint:
        listen: [${o.listen.map((l) => JSON.stringify(l)).join(', ')}]
        certificate: ${c.endpoint.certFile}
        key: ${c.endpoint.keyFile}
        peers:
          - name: edge-1
            certificates: [${(o.edgeCert ?? c.edge).certFile}]
        allow: [${o.allow.map((a) => JSON.stringify(a)).join(', ')}]
        probe: { intervalMs: 100, downAfterMs: 1000 }
${o.extra ?? ''}
`);
  t.teardown(() => h.stop());
  return h;
}

export interface EdgeOpts {
  /** host:port each channel dials, by name. */
  channels: Array<{ name: string; local?: string; remote: string; weight?: number }>;
  mode?: string;
  originPort: number;
  originHost?: string;
  cert?: TestCert;
  pinCert?: TestCert;
  sessionExtra?: string;
  /** More keys of the `origin` upstream pool, as YAML lines indented by 4. */
  upstreamExtra?: string;
}

export async function startEdge(t: Test, o: EdgeOpts): Promise<Harness> {
  const c = testCerts();
  const cert = o.cert ?? c.edge;
  const h = await startWeaver(`
listeners: [{ name: https, port: 0 }]
handshakePools:
  primary:
    kind: local
    certificates: [{ cert: ${c.edge.certFile}, key: ${c.edge.keyFile} }]
routes: [{ match: { pathPrefix: / }, upstream: origin }]
upstreams:
  origin:
    servers: [{ url: "http://${o.originHost ?? '127.0.0.1'}:${o.originPort}", via: "bond:main" }]
    connections: 8
    retries: { attempts: 0 }
${o.upstreamExtra ?? ''}
admin: { port: 0 }
log: { accessLog: false }
${edgePluginYaml({
  plugin: PLUGIN,
  cert,
  peerCertFile: (o.pinCert ?? c.endpoint).certFile,
  mode: o.mode ?? 'active-active',
  probe: { intervalMs: 100, downAfterMs: 1000 },
  reconnect: { minMs: 50, maxMs: 500 },
  failbackMs: 500,
  sessionExtra: o.sessionExtra,
  channels: o.channels,
})}`);
  t.teardown(() => h.stop());
  return h;
}

export interface ChannelView {
  name: string;
  state: string;
  sentBytes: number;
  receivedBytes: number;
  inflightBytes: number;
  retransmittedBytes: number;
  reconnects: number;
  draining: boolean;
  weight: number;
}

export interface SessionView {
  name: string;
  role: string;
  mode: string;
  streams: number;
  bufferedBytes: number;
  receiveBufferedBytes: number;
  channels: ChannelView[];
}

export async function admin<T = unknown>(h: Harness, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await request(`http://127.0.0.1:${h.adminPort}/api/plugins/bonding-upstream${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
  });
  return { status: res.statusCode, body: (await res.body.json()) as T };
}

export async function sessions(h: Harness): Promise<SessionView[]> {
  return (await admin<{ sessions: SessionView[] }>(h, '/sessions')).body.sessions;
}

/** Polls until `pred` holds (or fails the wait after `ms`). */
export async function until(pred: () => Promise<boolean> | boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function channelsUp(h: Harness, n: number): Promise<void> {
  await until(async () => {
    const s = (await sessions(h))[0];
    return s !== undefined && s.channels.filter((c) => c.state === 'up').length >= n;
  }, 10_000, `${n} channels up`);
}

export function client(t: Test, h: Harness) {
  const agent = new Agent({ connect: { rejectUnauthorized: false }, connections: 4 });
  t.teardown(() => agent.close());
  const base = `https://127.0.0.1:${h.port}`;
  return {
    agent,
    async get(path: string): Promise<{ status: number; body: Buffer }> {
      const res = await request(`${base}${path}`, { dispatcher: agent });
      return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()) };
    },
    async post(path: string, body: Buffer): Promise<{ status: number; body: Buffer }> {
      const res = await request(`${base}${path}`, { dispatcher: agent, method: 'POST', body });
      return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()) };
    },
  };
}
