// Every attack kind of issue 4 against a real Weaver with bae: each ends in the strict pool or
// is refused. Raw ClientHellos go over plain sockets from their own 127.x.y.z source; the
// decision is made at onClientHello, so what matters is what Weaver decided for that socket.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { Agent, request } from 'undici';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { FingerprintLists } from '../../plugins/bae/lists.ts';
import { startWeaver } from '../support/weaver-harness.ts';
import { sharedDataPath } from '../support/shared-data.ts';
import { adminJson, baeConfig, decisionFor, LISTS, sendHello, type Decision } from './support.ts';
import { botHello, helloFromJa3, libraryHellos, scannerHello, withRandom } from './hellos.ts';

const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
t.teardown(() => origin.close());
const h = await startWeaver(baeConfig({ upstream: `  origin: { servers: [{ url: "http://127.0.0.1:${origin.port}" }] }` }));
t.teardown(() => h.stop());

const curlHello = libraryHellos().find((x) => /curl/i.test(x.client))!.bytes;
const flagged = (d: Decision): boolean => d.action === 'strict' || d.action === 'reject';

async function hello(bytes: Buffer, source: string, drip?: { size: number; ms: number }): Promise<Decision> {
  const r = await sendHello(h.port, bytes, source, drip);
  return decisionFor(h.adminPort, source, r.localPort);
}

t.test('a benign library hello from a fresh source goes to the primary pool', async (t) => {
  const d = await hello(withRandom(curlHello), '127.10.0.1');
  t.equal(d.action, 'primary');
  t.ok(d.score < 0.6, `score ${d.score}`);
});

t.test('a handshake flood from one source', async (t) => {
  const decisions: Decision[] = [];
  for (let i = 0; i < 70; i++) decisions.push(await hello(withRandom(curlHello), '127.11.0.1'));
  t.equal(decisions[0]!.action, 'primary', 'the first handshakes pass');
  const tail = decisions.slice(-20);
  t.ok(tail.every(flagged), `the last 20 are strict or refused: ${tail.map((d) => d.action).join(' ')}`);
  t.ok(tail.some((d) => d.reasons.some((r) => r.signal === 'flood')));
});

t.test('a fixed client random', async (t) => {
  // What a hand-rolled client might use: a constant pattern.
  const fixed = Buffer.alloc(32).fill(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
  const first = await hello(withRandom(curlHello, fixed), '127.12.0.1');
  const second = await hello(withRandom(curlHello, fixed), '127.12.0.2');
  t.ok(flagged(second), `the second connection with the same random: ${second.action}`);
  t.ok(second.reasons.some((r) => r.signal === 'random-reuse'));
  t.ok(first.reasons.some((r) => r.signal === 'low-entropy-random'), 'a patterned random has low entropy');
});

t.test('a hello dripped byte by byte', async (t) => {
  const d = await hello(withRandom(curlHello), '127.13.0.1', { size: 1, ms: 2 });
  t.ok(flagged(d), d.action);
  t.ok(d.reasons.some((r) => r.signal === 'dripped-hello'));
});

t.test('a scanner-style cipher list', async (t) => {
  const d = await hello(scannerHello(), '127.14.0.1');
  t.ok(flagged(d), d.action);
  t.equal(d.reasons[0]!.signal, 'scanner-ciphers');
});

function loadedLists(): FingerprintLists {
  const lists = new FingerprintLists();
  for (const file of LISTS) lists.load({ file }, '/');
  return lists;
}

t.test('a known-malware fingerprint', async (t) => {
  const lists = loadedLists();
  // The trisul list carries JA3 strings: rebuild a malware hello from one that only a bad list names.
  const malware = readFileSync(sharedDataPath('ja3/trisul_ja3fingerprint.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { desc: string; ja3_hash: string; ja3_str: string })
    .find((r) => r.desc.startsWith('Malware') && lists.lookup(r.ja3_hash)?.verdict === 'bad');
  t.ok(malware, 'a malware JA3 on no benign list');
  const d = await hello(helloFromJa3(malware!.ja3_str), '127.15.0.1');
  t.equal(d.action, 'reject', `${malware!.desc.slice(0, 40)}: ${d.action}`);
  t.equal(d.reasons[0]!.signal, 'known-bad');
});

t.test('a JA3 that SSLBL lists but a benign list names too is not enough to act on', async (t) => {
  const lists = loadedLists();
  const sslbl = readFileSync(sharedDataPath('ja3/sslbl_ja3_fingerprints.csv'), 'utf8')
    .split('\n')
    .filter((l) => /^[0-9a-f]{32},/.test(l))
    .map((l) => l.slice(0, 32));
  const ambiguous = sslbl.filter((j) => lists.lookup(j)?.verdict === 'ambiguous');
  t.ok(ambiguous.length >= 10, `${ambiguous.length} SSLBL JA3s are also benign software`);
  t.ok(ambiguous.every((j) => lists.lookup(j)!.good), 'each names its benign owner');
});

t.test('a browser User-Agent over a non-browser TLS stack', async (t) => {
  const ua = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
  const once = async (): Promise<number> => {
    const agent = new Agent({ localAddress: '127.16.0.1', connect: { rejectUnauthorized: false, servername: 'localhost' } });
    try {
      const res = await request(`https://127.0.0.1:${h.port}/`, { dispatcher: agent, headers: { 'user-agent': ua } });
      await res.body.text();
      return res.statusCode;
    } finally {
      await agent.close();
    }
  };
  t.equal(await once(), 421, 'the request that tells the lie is sent back to reconnect');
  t.equal(await once(), 200, 'the new connection is served');
  const decisions = (await adminJson<Array<Decision & { phase: string }>>(h.adminPort, '/decisions?limit=5000')).filter((d) => d.address === '127.16.0.1');
  t.same(decisions.map((d) => `${d.phase}:${d.action}`), ['hello:primary', 'request:strict', 'hello:strict'], 'the TLS stack alone was fine; the lie sent it to the strict pool');
  t.ok(decisions[2]!.reasons.some((r) => r.signal === 'ua-mismatch'));
  const log = await h.waitForLog((l) => l.msg === 'request' && (l.tags as Record<string, unknown>)?.['bae.reasons'] === 'ua-mismatch');
  t.ok(log, 'the access log carries the score and the reason');
});

t.test('a slow rotation of sources sharing one fingerprint', async (t) => {
  const decisions: Decision[] = [];
  for (let i = 1; i <= 14; i++) {
    decisions.push(await hello(botHello(), `127.17.0.${i}`));
    await new Promise((r) => setTimeout(r, 30));
  }
  t.equal(decisions[0]!.action, 'primary', 'one source with an unknown stack is not a rotation');
  const tail = decisions.slice(-5);
  t.ok(tail.every(flagged), `the last sources of the rotation: ${tail.map((d) => d.action).join(' ')}`);
  t.ok(tail[0]!.reasons.some((r) => r.signal === 'fingerprint-rotation'));
});

t.test('explain shows the features, score and reasons behind a decision', async (t) => {
  await hello(withRandom(curlHello), '127.18.0.1', { size: 1, ms: 2 });
  const e = await adminJson<{
    address: string;
    profile: { connections: number };
    lastDecision: { action: string; score: number; reasons: Array<{ signal: string; detail: string }>; features: Record<string, unknown>; vector: Record<string, number> };
  }>(h.adminPort, '/explain?addr=127.18.0.1');
  t.equal(e.address, '127.18.0.1');
  t.equal(e.profile.connections, 1);
  t.ok(e.lastDecision.features.reads as number > 6, 'the reads the hello took');
  t.match(e.lastDecision.features, { ja4a: /^t13/, stack: 'library', randomEntropy: Number, acceptToHelloMs: Number });
  t.ok(e.lastDecision.vector['log1p(reads-1)']! > 1.5);
  t.match(e.lastDecision.reasons[0], { signal: 'dripped-hello', detail: /reads/ });
  t.ok(e.lastDecision.score >= 0.6);
  const missing = await request(`http://127.0.0.1:${h.adminPort}/api/plugins/bae/explain?addr=127.99.99.99`);
  t.equal(missing.statusCode, 404);
  await missing.body.dump();
});
