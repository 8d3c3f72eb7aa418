// Shared pieces of the segmentation tests: a Weaver config with the plugin, real TLS
// connections and HTTPS requests from chosen 127.x.y.z sources, and the plugin's admin API.
import https from 'node:https';
import tls from 'node:tls';
import { request } from 'undici';
import { repoRoot } from '../support/weaver-harness.ts';

export const HOSTS = ['localhost', '127.0.0.1', 'app.test', 'other.test'];

export function segConfig(options: string, opts: { upstreamPort?: number; stateDir?: string; extraPlugins?: string; pool?: string } = {}): string {
  return `
${opts.stateDir ? `stateDir: ${opts.stateDir}` : ''}
listeners: [{ name: https, port: 0 }]
handshakePools:
  primary: { kind: local, certificates: [{ dev: true, hosts: ${JSON.stringify(HOSTS)} }]${opts.pool ? `, ${opts.pool}` : ''} }
routes: [{ match: { pathPrefix: / }, upstream: origin }]
upstreams:
  origin: { servers: [{ url: "http://127.0.0.1:${opts.upstreamPort ?? 9}" }] }
plugins:
${opts.extraPlugins ?? ''}  - use: ${repoRoot}plugins/segmentation/index.ts
    options:
${options}
admin: { port: 0 }
`;
}

export interface Held {
  socket: tls.TLSSocket;
  closed: Promise<number>;
}

/** A TLS connection from `localAddress`: resolves once established, rejects when refused. */
export function connectTls(port: number, localAddress: string, servername = 'app.test'): Promise<Held> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, localAddress, servername, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] } as tls.ConnectionOptions);
    const closed = new Promise<number>((r) => socket.once('close', () => r(performance.now())));
    socket.once('secureConnect', () => resolve({ socket, closed }));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before the handshake')));
    socket.setTimeout(5_000, () => {
      socket.destroy(new Error('timeout'));
    });
  });
}

/** 'ok' when the TLS handshake completes from `localAddress`, else 'refused'. */
export async function tryTls(port: number, localAddress: string, servername = 'app.test'): Promise<'ok' | 'refused'> {
  try {
    const held = await connectTls(port, localAddress, servername);
    held.socket.destroy();
    return 'ok';
  } catch {
    return 'refused';
  }
}

/** An HTTPS GET from `localAddress`; the status, or 0 when the connection was refused. */
export function httpsGet(port: number, localAddress: string, servername = 'app.test', path = '/', client?: { cert: string; key: string }): Promise<number> {
  return new Promise((resolve) => {
    const req = https.get({ host: '127.0.0.1', port, path, localAddress, servername, headers: { host: servername }, rejectUnauthorized: false, agent: false, ...client }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.setTimeout(5_000, () => req.destroy());
  });
}

export async function admin<T = Record<string, unknown>>(adminPort: number, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await request(`http://127.0.0.1:${adminPort}/api/plugins/segmentation${path}`, {
    method: method as 'GET',
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
  });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // text answers (the nft export) stay text
  }
  return { status: res.statusCode, body: parsed as T };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
