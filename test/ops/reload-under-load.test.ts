// Reloads under steady traffic drop nothing. Five kinds of client loop run while the config is
// reloaded four times, each reload moving the route to the other origin: HTTP/1.1 keep-alive
// GETs and POSTs (undici; a POST is never retried, so a lost one would show), HTTP/1.1 and
// HTTP/2 on a fresh connection per request, and one HTTP/2 session reused until the server
// winds it down. Every request must succeed, and both origins must have answered.
import http2 from 'node:http2';
import t from 'tap';
import { Agent, request } from 'undici';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { h1Request, h2Request } from '../http/clients.ts';
import { freePort, msg, startWeaverProcess, tempDir, writeConfig } from './weaver-process.ts';

const RELOADS = 4;
/** Requests each reload waits for before the next, so every config serves some of the load. */
const BETWEEN_RELOADS = 40;

function config(port: number, adminPort: number, originPort: number): string {
  return `workers: 1
drainTimeoutMs: 10000
log: { accessLog: false }
listeners: [{ name: https, port: ${port} }]
handshakePools:
  primary: { kind: local, certificates: [{ dev: true, hosts: [localhost, 127.0.0.1] }] }
routes: [{ upstream: origin }]
upstreams: { origin: { servers: [{ url: "http://127.0.0.1:${originPort}" }] } }
admin: { port: ${adminPort} }
`;
}

t.test('four reloads under load: zero failed requests', async (t) => {
  const originA = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
  const originB = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
  t.teardown(() => Promise.all([originA.close(), originB.close()]));
  const [port, adminPort] = [await freePort(), await freePort()];
  const dir = tempDir(t);
  const file = writeConfig(dir, config(port, adminPort, originA.port));
  const proc = await startWeaverProcess(file, { teardown: (fn) => t.teardown(fn) });
  const base = `https://127.0.0.1:${port}`;
  const agent = new Agent({ connect: { rejectUnauthorized: false }, connections: 2 });
  t.teardown(() => agent.close());

  let running = true;
  let done = 0;
  const failures: string[] = [];
  const counts: Record<string, number> = {};
  const seen = new Set<string>();
  const loop = async (kind: string, once: () => Promise<{ status: number; origin: unknown }>) => {
    counts[kind] = 0;
    while (running) {
      try {
        const r = await once();
        if (r.status !== 200) failures.push(`${kind}: status ${r.status}`);
        seen.add(String(r.origin));
      } catch (err) {
        failures.push(`${kind}: ${(err as Error).message}`);
      }
      counts[kind]!++;
      done++;
    }
  };

  const keepAliveGet = async () => {
    const res = await request(`${base}/`, { dispatcher: agent });
    await res.body.arrayBuffer();
    return { status: res.statusCode, origin: res.headers['x-demo-origin'] };
  };
  const keepAlivePost = async () => {
    const body = `payload ${done}`;
    const res = await request(`${base}/echo`, { method: 'POST', body, dispatcher: agent });
    const text = await res.body.text();
    if (text !== body) throw new Error(`echo mismatch: ${text}`);
    return { status: res.statusCode, origin: res.headers['x-demo-origin'] };
  };
  const freshH1 = async () => {
    const a = await h1Request(base, '/');
    return { status: a.status, origin: a.headers['x-demo-origin'] };
  };
  const freshH2 = async () => {
    const a = await h2Request(base, '/');
    return { status: a.status, origin: a.headers['x-demo-origin'] };
  };
  // A client that honours GOAWAY: it opens a new session once the server has wound the old one down.
  let session: http2.ClientHttp2Session | undefined;
  const reusedH2 = () =>
    new Promise<{ status: number; origin: unknown }>((resolve, reject) => {
      if (!session || session.closed || session.destroyed) {
        session = http2.connect(base, { rejectUnauthorized: false });
        session.on('error', () => undefined);
      }
      const stream = session.request({ ':path': '/' });
      let head: http2.IncomingHttpHeaders = {};
      stream.on('response', (h) => (head = h));
      stream.on('error', reject);
      stream.resume();
      stream.on('end', () => resolve({ status: Number(head[':status']), origin: head['x-demo-origin'] }));
    });

  const loops = Promise.all([
    loop('h1 keep-alive GET', keepAliveGet),
    loop('h1 keep-alive POST', keepAlivePost),
    loop('h1 fresh connection', freshH1),
    loop('h2 fresh connection', freshH2),
    loop('h2 reused session', reusedH2),
  ]);

  const waitForRequests = async (n: number) => {
    const target = done + n;
    while (done < target && failures.length < 50) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  await waitForRequests(BETWEEN_RELOADS);
  for (let i = 1; i <= RELOADS; i++) {
    const mark = proc.logs.length;
    writeConfig(dir, config(port, adminPort, i % 2 === 1 ? originB.port : originA.port));
    proc.kill('SIGHUP');
    await proc.waitForLog(msg('reloaded'), { from: mark });
    await waitForRequests(BETWEEN_RELOADS);
  }
  running = false;
  await loops;
  session?.close();

  t.same(failures, [], 'no request failed');
  for (const [kind, n] of Object.entries(counts)) t.ok(n > 0, `${kind}: ${n} requests`);
  t.same([...seen].sort(), [`127.0.0.1:${originA.port}`, `127.0.0.1:${originB.port}`].sort(), 'both configs served');
  t.equal(proc.logs.filter((l) => l.msg === 'reloaded').length, RELOADS);
  proc.kill('SIGTERM');
  t.equal(await proc.exited, 0);
});
