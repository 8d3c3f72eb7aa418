// Shared pieces of the bae tests: a Weaver config with a primary and a strict handshake pool,
// raw ClientHellos sent from a chosen 127.x.y.z source, and the plugin's admin API.
import net from 'node:net';
import { request } from 'undici';
import { repoRoot } from '../support/weaver-harness.ts';
import { sharedDataPath } from '../support/shared-data.ts';

export const LISTS = [
  sharedDataPath('ja3/sslbl_ja3_fingerprints.csv'),
  sharedDataPath('ja3/salesforce_osx-nix-ja3.csv'),
  sharedDataPath('ja3/trisul_ja3fingerprint.jsonl'),
  sharedDataPath('ja4/ja4plus-mapping.csv'),
  sharedDataPath('ja4/ja4db_verified.json'),
];

export interface ConfigOptions {
  /** YAML of the plugin's options (an object literal body, indented by the caller). */
  options?: string;
  upstream?: string;
  stateDir?: string;
}

export function baeConfig(opts: ConfigOptions = {}): string {
  return `
${opts.stateDir ? `stateDir: ${opts.stateDir}` : ''}
log: { level: info, accessLog: true }
listeners: [{ name: https, port: 0, pool: primary }]
handshakePools:
  primary: { kind: local, certificates: [{ dev: true, hosts: [localhost, 127.0.0.1] }] }
  strict:
    kind: local
    certificates: [{ dev: true, hosts: [localhost, 127.0.0.1] }]
    minVersion: TLSv1.3
    handshakeTimeoutMs: 3000
routes: [{ match: { pathPrefix: / }, upstream: origin }]
upstreams:
${opts.upstream ?? '  origin: { servers: [{ url: "http://127.0.0.1:9" }] }'}
plugins:
  - use: ${repoRoot}plugins/bae/index.ts
    options:
      lists: ${JSON.stringify(LISTS)}
${opts.options ?? ''}
admin: { port: 0 }
`;
}

export interface HelloResult {
  /** The first byte the server sent back: 0x16 handshake (ServerHello), 0x15 alert, or none. */
  answer: 'handshake' | 'alert' | 'closed';
  localPort: number;
}

/**
 * Sends raw ClientHello bytes from `localAddress` and reads what comes back. `drip` sends the
 * bytes in chunks of that size with `dripMs` between them.
 */
export function sendHello(port: number, bytes: Buffer, localAddress: string, drip?: { size: number; ms: number }): Promise<HelloResult> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress });
    let localPort = 0;
    let settled = false;
    const done = (answer: HelloResult['answer']): void => {
      if (settled) return;
      settled = true;
      s.destroy();
      resolve({ answer, localPort });
    };
    s.once('connect', async () => {
      localPort = s.localPort ?? 0;
      if (!drip) return void s.write(bytes);
      for (let i = 0; i < bytes.length && !s.destroyed; i += drip.size) {
        s.write(bytes.subarray(i, i + drip.size));
        await new Promise((r) => setTimeout(r, drip.ms));
      }
    });
    s.once('data', (d: Buffer) => done(d[0] === 0x16 ? 'handshake' : d[0] === 0x15 ? 'alert' : 'closed'));
    s.once('close', () => done('closed'));
    s.once('error', (err) => (settled ? undefined : localPort ? done('closed') : reject(err)));
    setTimeout(() => done('closed'), 10_000).unref();
  });
}

export interface Decision {
  conn: string;
  address: string;
  port: number;
  ja4: string;
  score: number;
  action: 'primary' | 'strict' | 'reject';
  reasons: Array<{ signal: string; weight: number; detail: string }>;
}

export async function adminJson<T = unknown>(adminPort: number, path: string, body?: unknown): Promise<T> {
  const res = await request(`http://127.0.0.1:${adminPort}/api/plugins/bae${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
  });
  const json = (await res.body.json()) as T;
  if (res.statusCode >= 400) throw new Error(`${path}: ${res.statusCode} ${JSON.stringify(json)}`);
  return json;
}

/** The decision made for the connection from `address`:`port`. */
export async function decisionFor(adminPort: number, address: string, port: number): Promise<Decision> {
  for (let i = 0; i < 50; i++) {
    const all = await adminJson<Decision[]>(adminPort, '/decisions?limit=5000');
    const d = all.find((x) => x.address === address && x.port === port);
    if (d) return d;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no decision for ${address}:${port}`);
}
