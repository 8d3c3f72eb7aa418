// An edge Weaver and an endpoint Weaver on a netns bed, bonded over the bed's paths as
// `/work/notes/bonding-contract.md` describes: the edge (edge namespace) listens on its root-link
// address for the test's clients and opens one channel per path; the endpoint (endpoint
// namespace) accepts them on each path's address and proxies to the origin, which the test
// process serves on the endpoint's root link. A path given link settings goes through a link
// emulator (delay, jitter, blackhole) instead of straight to the endpoint.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { edgePluginYaml } from '../bonding/edge-yaml.ts';
import { startLinkEmulator, type LinkEmulator, type LinkSettings } from './link-emulator.ts';
import type { NetnsBed } from './netns-bed.ts';
import { startBlobOrigin, type BlobOrigin } from './netns-origin.ts';
import { nodeBin, type NetnsProcess } from './netns-process.ts';
import { repoRoot } from './run-weaver.ts';
import { makeTestCert } from './test-cert.ts';

export type BondMode = 'active-active' | 'active-standby' | 'weighted';

export interface ChannelView {
  name: string;
  state: 'up' | 'degraded' | 'down' | 'connecting';
  [key: string]: unknown;
}

export interface SessionView {
  name: string;
  role: string;
  mode: string;
  established: boolean;
  channels: ChannelView[];
  [key: string]: unknown;
}

export interface BondedOptions {
  mode: BondMode;
  /** Per path: link settings put the path behind a link emulator; null or absent goes direct. */
  links?: readonly (LinkSettings | null | undefined)[];
  /** Probe settings of both sides. */
  probe?: { intervalMs: number; downAfterMs: number };
}

export interface BondedPair {
  /** `https://EDGE:PORT`, reachable from the test process. */
  readonly edgeUrl: string;
  readonly origin: BlobOrigin;
  readonly links: readonly (LinkEmulator | undefined)[];
  readonly edge: NetnsProcess;
  readonly endpoint: NetnsProcess;
  /** Channel names, one per path, in path order. */
  readonly channels: readonly string[];
  edgeAdmin(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  endpointAdmin(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** The edge's view of session `main`. */
  session(): Promise<SessionView>;
  /** Polls the edge's session until `pred` holds; rejects with the last view after `ms`. */
  waitSession(pred: (s: SessionView) => boolean, ms?: number): Promise<SessionView>;
  stop(): Promise<void>;
}

const TOKEN = 'bonding-netns-admin-token';
const EDGE_PORT = 8443;
const ADMIN_PORT = 9901;
const CHANNEL_PORT = 7443;
export const SESSIONS = '/api/plugins/bonding-upstream/sessions';

async function admin(host: string, method: 'GET' | 'POST', path: string, body?: unknown) {
  const res = await request(`http://${host}:${ADMIN_PORT}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: kept as text for the assertion message.
  }
  return { status: res.statusCode, body: parsed };
}

function coreYaml(o: { listen: string; adminAddress: string; hosts: string[] }): string {
  return `workers: 1
stateDir: ./state
drainTimeoutMs: 2000
log: { level: info, accessLog: false }
listeners: [{ name: https, address: ${o.listen}, port: ${EDGE_PORT} }]
handshakePools:
  primary: { kind: local, certificates: [{ dev: true, hosts: [${o.hosts.join(', ')}] }] }
admin: { address: ${o.adminAddress}, port: ${ADMIN_PORT}, token: ${TOKEN} }
`;
}

/** Waits for Weaver's admin listener; a Weaver that fails says why in one line. */
async function ready(weaver: NetnsProcess, role: string): Promise<void> {
  try {
    await weaver.waitFor((l) => l.msg === 'admin API listening', { ms: 20_000 });
  } catch {
    const errors = weaver.lines.filter((l) => Number(l.level) >= 50).map((l) => `${String(l.msg)} ${JSON.stringify(l.err ?? l.issues ?? '')}`);
    const stderr = weaver.stderr().trim().split('\n').filter(Boolean);
    const { exitCode, signalCode } = weaver.child;
    const ended = exitCode !== null || signalCode !== null ? ` (exited: ${exitCode ?? signalCode})` : '';
    throw new Error(`${role} Weaver did not start${ended}: ${errors.at(-1) ?? stderr.find((l) => /Error|error:/.test(l)) ?? stderr.at(-1) ?? JSON.stringify(weaver.lines.at(-1) ?? 'no output')}`);
  }
}

export async function startBondedPair(bed: NetnsBed, opts: BondedOptions): Promise<BondedPair> {
  const dir = mkdtempSync(join(tmpdir(), 'bond-netns-'));
  const started: { stop(): Promise<void> }[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      for (const s of [...started].reverse()) await s.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    })());
  try {
    const edgeCert = makeTestCert(['bond-edge']);
    const endpointCert = makeTestCert(['bond-endpoint']);
    for (const c of [edgeCert, endpointCert]) started.push({ stop: async () => rmSync(c.dir, { recursive: true, force: true }) });
    const plugin = join(repoRoot, 'plugins/bonding-upstream/index.ts');
    const probe = opts.probe ?? { intervalMs: 100, downAfterMs: 500 };

    const origin = await startBlobOrigin(bed.rootEndpoint.root);
    started.push({ stop: () => origin.close() });

    const endpointYaml = `${coreYaml({ listen: '127.0.0.1', adminAddress: bed.rootEndpoint.endpoint, hosts: ['127.0.0.1'] })}
plugins:
  - use: ${plugin}
    options:
      endpoint:
        listen: [${bed.paths.map((p) => `"${p.endpointAddr}:${CHANNEL_PORT}"`).join(', ')}]
        certificate: ${endpointCert.certFile}
        key: ${endpointCert.keyFile}
        peers: [{ name: edge-1, certificates: [${edgeCert.certFile}] }]
        allow: ["${origin.host}:${origin.port}"]
        probe: { intervalMs: ${probe.intervalMs}, downAfterMs: ${probe.downAfterMs} }
`;
    const endpointFile = join(dir, 'endpoint.yaml');
    writeFileSync(endpointFile, endpointYaml);
    const endpoint = bed.spawn(bed.endpoint, [nodeBin, 'bin/weaver', '-c', endpointFile]);
    started.push(endpoint);
    await ready(endpoint, 'endpoint');

    const links: (LinkEmulator | undefined)[] = [];
    for (const p of bed.paths) {
      const settings = opts.links?.[p.index];
      if (!settings) {
        links.push(undefined);
        continue;
      }
      const link = await startLinkEmulator(bed, p.index, CHANNEL_PORT, settings);
      started.push({ stop: () => link.close() });
      links.push(link);
    }
    const channels = bed.paths.map((p) => `path${p.index}`);
    const channelSpecs = bed.paths.map((p) => {
      const link = links[p.index];
      return { name: channels[p.index]!, local: p.edgeAddr, remote: link ? `${link.edgeHost}:${link.port}` : `${p.endpointAddr}:${CHANNEL_PORT}` };
    });
    const edgeYaml = `${coreYaml({ listen: bed.rootEdge.edge, adminAddress: bed.rootEdge.edge, hosts: [bed.rootEdge.edge, 'localhost'] })}
routes: [{ name: bonded, match: { pathPrefix: / }, upstream: origin }]
upstreams:
  origin:
    servers: [{ url: "http://${origin.host}:${origin.port}", via: "bond:main" }]
    connections: 8
${edgePluginYaml({
  plugin,
  cert: edgeCert,
  peerCertFile: endpointCert.certFile,
  mode: opts.mode,
  probe,
  reconnect: { minMs: 100, maxMs: 1000 },
  failbackMs: 1000,
  channels: channelSpecs,
})}`;
    const edgeFile = join(dir, 'edge.yaml');
    writeFileSync(edgeFile, edgeYaml);
    const edge = bed.spawn(bed.edge, [nodeBin, 'bin/weaver', '-c', edgeFile]);
    started.push(edge);
    await ready(edge, 'edge');

    const edgeAdmin = (method: 'GET' | 'POST', path: string, body?: unknown) => admin(bed.rootEdge.edge, method, path, body);
    const session = async (): Promise<SessionView> => {
      const res = await edgeAdmin('GET', SESSIONS);
      const found = (res.body as { sessions?: SessionView[] }).sessions?.find((s) => s.name === 'main');
      if (!found) throw new Error(`no session "main" in ${res.status} ${JSON.stringify(res.body)}`);
      return found;
    };
    const waitSession = async (pred: (s: SessionView) => boolean, ms = 10_000): Promise<SessionView> => {
      const deadline = Date.now() + ms;
      let last: SessionView | string = 'no answer yet';
      while (Date.now() < deadline) {
        try {
          last = await session();
          if (pred(last)) return last;
        } catch (err) {
          last = (err as Error).message;
        }
        await sleep(50);
      }
      throw new Error(`session never matched within ${ms} ms; last: ${JSON.stringify(last)}; edge stderr: ${edge.stderr().slice(-1500)}`);
    };
    await waitSession((s) => s.established && s.channels.length === channels.length && s.channels.every((c) => c.state === 'up'), 15_000);
    return {
      edgeUrl: `https://${bed.rootEdge.edge}:${EDGE_PORT}`,
      origin,
      links,
      edge,
      endpoint,
      channels,
      edgeAdmin,
      endpointAdmin: (method, path, body) => admin(bed.rootEndpoint.endpoint, method, path, body),
      session,
      waitSession,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The edge's channel `name` in a session view. */
export function channel(s: SessionView, name: string): ChannelView {
  const c = s.channels.find((ch) => ch.name === name);
  if (!c) throw new Error(`no channel ${name} in ${JSON.stringify(s.channels.map((ch) => ch.name))}`);
  return c;
}
