// A benign mix through a real Weaver with bae: real clients (curl over HTTP/1.1 and HTTP/2,
// node's https and http2, undici, openssl s_client) each from its own 127.x.y.z source, and the
// real browser hellos of shared/data replayed raw — all scored low and served by the primary
// pool, with the score in the access log.
import { execFile, spawn } from 'node:child_process';
import http2 from 'node:http2';
import https from 'node:https';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import t from 'tap';
import { Agent, request } from 'undici';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { startWeaver } from '../support/weaver-harness.ts';
import { sharedDataPath } from '../support/shared-data.ts';
import { adminJson, baeConfig, sendHello, type Decision } from './support.ts';
import { browserHello, libraryHellos, withRandom } from './hellos.ts';

const run = promisify(execFile);
const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
t.teardown(() => origin.close());
const h = await startWeaver(baeConfig({ upstream: `  origin: { servers: [{ url: "http://127.0.0.1:${origin.port}" }] }` }));
t.teardown(() => h.stop());
const url = `https://127.0.0.1:${h.port}/`;

const clients: Array<[string, string, () => Promise<number>]> = [
  ['curl http/1.1', '127.30.0.1', async () => Number((await run('curl', ['-sk', '-m', '10', '--interface', '127.30.0.1', '-o', '/dev/null', '-w', '%{http_code}', url])).stdout)],
  ['curl http/2', '127.30.0.2', async () => Number((await run('curl', ['-sk', '-m', '10', '--http2', '--interface', '127.30.0.2', '-o', '/dev/null', '-w', '%{http_code}', url])).stdout)],
  [
    'node https',
    '127.30.0.3',
    () =>
      new Promise((resolve, reject) => {
        https.get(url, { rejectUnauthorized: false, localAddress: '127.30.0.3', servername: 'localhost', agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        }).on('error', reject);
      }),
  ],
  [
    'node http2',
    '127.30.0.4',
    () =>
      new Promise((resolve, reject) => {
        // http2.connect passes its options on to tls.connect; its types omit localAddress.
        const opts = { rejectUnauthorized: false, localAddress: '127.30.0.4', servername: 'localhost' };
        const s = http2.connect(url, opts as http2.SecureClientSessionOptions);
        s.on('error', reject);
        const st = s.request({ ':path': '/' });
        st.on('response', (hd) => {
          st.resume();
          st.on('end', () => (s.close(), resolve(Number(hd[':status']))));
        });
      }),
  ],
  [
    'undici',
    '127.30.0.5',
    async () => {
      const agent = new Agent({ localAddress: '127.30.0.5', connect: { rejectUnauthorized: false, servername: 'localhost' } });
      const res = await request(url, { dispatcher: agent });
      await res.body.dump();
      await agent.close();
      return res.statusCode;
    },
  ],
  [
    'openssl s_client',
    '127.0.0.1',
    () =>
      new Promise((resolve) => {
        const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${h.port}`, '-servername', 'localhost', '-quiet', '-ign_eof'], { stdio: ['pipe', 'pipe', 'ignore'] });
        let out = '';
        p.stdout.on('data', (d: Buffer) => (out += d.toString()));
        p.on('close', () => resolve(Number(/HTTP\/1\.1 (\d+)/.exec(out)?.[1] ?? 0)));
        p.stdin.end('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      }),
  ],
];

t.test('live clients: low score, primary pool, answered', async (t) => {
  for (const [name, source, go] of clients) {
    // A few connections each, paced like a person clicking around.
    for (let i = 0; i < 3; i++) {
      t.equal(await go(), 200, `${name} #${i + 1} answered`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const mine = (await adminJson<Decision[]>(h.adminPort, '/decisions?limit=5000')).filter((d) => d.address === source);
    t.ok(mine.length >= 3, `${name}: decisions recorded`);
    t.ok(mine.every((d) => d.action === 'primary' && d.score < 0.6), `${name}: ${mine.map((d) => d.score).join(' ')}`);
  }
  const line = await h.waitForLog((l) => l.msg === 'request' && typeof (l.tags as Record<string, unknown>)?.['bae.score'] === 'number');
  t.equal((line.tags as Record<string, unknown>)['bae.action'], 'primary', 'the access log carries the score and the action');
});

t.test('real browser and library hellos replayed: low score, primary pool', async (t) => {
  const files = readdirSync(sharedDataPath('browser_clienthello')).filter((f) => f.endsWith('.yaml'));
  const decisions: Decision[] = [];
  let n = 0;
  for (const file of files) {
    const source = `127.31.${Math.floor(n / 200)}.${(n % 200) + 1}`;
    n++;
    for (let k = 0; k < 2; k++) {
      const r = await sendHello(h.port, browserHello(file, n * 7 + k), source);
      decisions.push({ ...(await find(source, r.localPort)), conn: file });
    }
  }
  for (const lib of libraryHellos()) {
    const source = `127.32.0.${++n % 250}`;
    const r = await sendHello(h.port, withRandom(lib.bytes), source);
    decisions.push({ ...(await find(source, r.localPort)), conn: lib.client });
  }
  const odd = decisions.filter((d) => d.action !== 'primary');
  t.same(odd.map((d) => `${d.conn}: ${d.score} ${d.reasons.map((r) => r.signal)}`), [], 'every replayed hello went to the primary pool');
});

async function find(address: string, port: number): Promise<Decision> {
  for (let i = 0; i < 50; i++) {
    const d = (await adminJson<Decision[]>(h.adminPort, '/decisions?limit=200')).find((x) => x.address === address && x.port === port);
    if (d) return d;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no decision for ${address}:${port}`);
}
