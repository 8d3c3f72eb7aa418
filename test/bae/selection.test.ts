// Data-server choice by profile: among servers labelled for the client's profile class, the
// one with the better outcome history for that class is preferred, and when its outcomes
// degrade the choice moves away from it. Servers labelled for the client's class beat others.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { Agent, request } from 'undici';
import { startWeaver } from '../support/weaver-harness.ts';
import { adminJson, baeConfig } from './support.ts';

interface Backend {
  port: number;
  status: number;
  close(): Promise<void>;
}

async function backend(name: string, status: number): Promise<Backend> {
  const b: Backend = { port: 0, status, close: async () => undefined };
  const server = http.createServer((_req, res) => res.writeHead(b.status, { 'x-server': name }).end(name));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  b.port = (server.address() as AddressInfo).port;
  b.close = () => new Promise<void>((r) => server.close(() => r()));
  return b;
}

const a = await backend('A', 500);
const b = await backend('B', 200);
const browserOnly = await backend('C', 200);
const apiOnly = await backend('D', 200);
t.teardown(() => Promise.all([a, b, browserOnly, apiOnly].map((x) => x.close())));

const pool = (servers: Array<[Backend, string]>) => `
    balance: round-robin
    outlierDetection: { consecutive5xx: 0, consecutiveConnectFailures: 0 }
    retries: { attempts: 0 }
    servers:
${servers.map(([s, label]) => `      - { url: "http://127.0.0.1:${s.port}", labels: [${label}] }`).join('\n')}`;

const yaml = baeConfig({
  upstream: `  origin:${pool([[a, 'api'], [b, 'api']])}\n  classes:${pool([[browserOnly, 'browser'], [apiOnly, 'api']])}`,
}).replace('routes: [{ match: { pathPrefix: / }, upstream: origin }]', 'routes: [{ match: { pathPrefix: /classes }, upstream: classes }, { match: { pathPrefix: / }, upstream: origin }]');
const h = await startWeaver(yaml);
t.teardown(() => h.stop());
// An API client (no browser User-Agent, a library TLS stack), one keep-alive connection.
const agent = new Agent({ connections: 1, connect: { rejectUnauthorized: false, servername: 'localhost' } });
t.teardown(() => agent.close());

async function served(path = '/'): Promise<string> {
  const res = await request(`https://127.0.0.1:${h.port}${path}`, { dispatcher: agent, headers: { 'user-agent': 'reporting-job/2.1' } });
  await res.body.dump();
  return String(res.headers['x-server']);
}

t.test('prefers the server with the better reputation for the profile class, and moves away when it degrades', async (t) => {
  const first: string[] = [];
  for (let i = 0; i < 12; i++) first.push(await served());
  t.equal(first[0], 'A', 'with nothing known yet, the balancer order decides');
  t.same(first.slice(-8), ['B', 'B', 'B', 'B', 'B', 'B', 'B', 'B'], `then B, whose answers are good: ${first.join('')}`);

  b.status = 503;
  a.status = 200;
  const second: string[] = [];
  for (let i = 0; i < 25 && second.at(-1) !== 'A'; i++) second.push(await served());
  t.equal(second.at(-1), 'A', `B's failures moved the choice back to A: ${second.join('')}`);
  t.ok(second.length > 1, 'not before B had failed');
  const after: string[] = [];
  for (let i = 0; i < 5; i++) after.push(await served());
  t.same(after, ['A', 'A', 'A', 'A', 'A'], 'and it stays with A while A answers well');

  const reps = await adminJson<Array<{ server: string; class: string; reputation: number }>>(h.adminPort, '/servers');
  const rep = (port: number) => reps.find((r) => r.server === `http://127.0.0.1:${port}` && r.class === 'api')!.reputation;
  t.ok(rep(a.port) > rep(b.port), `reputation for api clients: A ${rep(a.port)}, B ${rep(b.port)}`);
});

t.test("a server labelled for the client's class is preferred to one labelled for another", async (t) => {
  const picks: string[] = [];
  for (let i = 0; i < 6; i++) picks.push(await served('/classes'));
  t.same(picks, ['D', 'D', 'D', 'D', 'D', 'D'], 'the api client goes to the api server under round-robin');
});
