// Every kind of bad input against ONE running Weaver: each gets a clear log line and, where it is
// the client's fault, a clean close — and after each one a good client is still served.
import t, { type Test } from 'tap';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { ConfigError, CertificateError, ListenError } from '../../proxy/errors.ts';
import { loadConfigText } from '../../proxy/config/load.ts';
import { Weaver } from '../../proxy/weaver.ts';
import { createLogger } from '../../proxy/log.ts';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { sharedDataPath } from '../support/shared-data.ts';
import { makeTestCert } from '../support/test-cert.ts';
import { startWeaver, repoRoot } from '../support/weaver-harness.ts';

const hellos = JSON.parse(readFileSync(sharedDataPath('tls/clienthellos.json'), 'utf8')) as Array<{ clientHelloHex: string }>;
const curlHello = Buffer.from(hellos[0]!.clientHelloHex, 'hex');

const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
t.teardown(() => origin.close());

const cert = makeTestCert(['localhost', '*.open.test', '*.closed.test']);
const h = await startWeaver(`
listeners:
  - name: https
    port: 0
    clientHello: { maxBytes: 4096, timeoutMs: 1500 }
handshakePools:
  primary:
    kind: local
    certificates: [{ cert: ${cert.certFile}, key: ${cert.keyFile} }]
    unknownSni: reject
    handshakeTimeoutMs: 1000
routes: [{ match: { pathPrefix: / }, upstream: origin }]
upstreams:
  origin: { servers: [{ url: "http://127.0.0.1:${origin.port}" }] }
plugins:
  - use: ${repoRoot}test/fixtures/plugins/misbehave.ts
    name: misbehave-open
    failure: open
    timeoutMs: 300
    options: { suffix: .open.test }
  - use: ${repoRoot}test/fixtures/plugins/misbehave.ts
    name: misbehave-closed
    failure: closed
    timeoutMs: 300
    options: { suffix: .closed.test }
admin: { enabled: false }
`);
t.teardown(() => h.stop());

const agent = new Agent({ connect: { rejectUnauthorized: false } });
t.teardown(() => agent.close());

async function stillServes(t: Test): Promise<void> {
  const res = await request(`https://localhost:${h.port}/`, { dispatcher: agent, reset: true });
  t.equal(res.statusCode, 200, 'a good client is still served');
  await res.body.text();
}

/** Sends bytes (optionally paced), resolves with what came back when the server closed. */
function exchange(chunks: Buffer[], gapMs = 0, endAfter = false): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(h.port, '127.0.0.1');
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? resolve(Buffer.concat(got)) : reject(e)));
    s.on('close', () => resolve(Buffer.concat(got)));
    let i = 0;
    const next = () => {
      if (s.destroyed) return;
      if (i < chunks.length) {
        s.write(chunks[i++]!);
        setTimeout(next, gapMs);
      } else if (endAfter) s.end();
    };
    s.on('connect', next);
  });
}

function helloLog(code: string) {
  return h.waitForLog((l) => l.msg === 'ClientHello refused' && l.code === code);
}

t.test('plain HTTP on the TLS port gets an HTTP hint and a clean close', async (t) => {
  const reply = await exchange([Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]);
  t.match(reply.toString(), /^HTTP\/1\.1 400 Bad Request[\s\S]*speaks HTTPS/);
  await helloLog('WEAVER_ERR_HELLO_NOT_TLS');
  await stillServes(t);
});

t.test('random bytes are refused', async (t) => {
  const reply = await exchange([Buffer.from('8f3a9c0d11ee7742aa55', 'hex')]);
  t.equal(reply.length, 0, 'closed without a reply');
  await helloLog('WEAVER_ERR_HELLO_NOT_TLS');
  await stillServes(t);
});

t.test('a truncated hello is refused', async (t) => {
  await exchange([curlHello.subarray(0, 100)], 0, true);
  await helloLog('WEAVER_ERR_HELLO_TRUNCATED');
  await stillServes(t);
});

t.test('an oversized hello is refused', async (t) => {
  const big = Buffer.from(curlHello);
  big.writeUInt16BE(16_000, 3); // the record claims more than maxBytes
  const reply = await exchange([big]);
  t.equal(reply[0], 0x15, 'a TLS alert');
  await helloLog('WEAVER_ERR_HELLO_TOO_LARGE');
  await stillServes(t);
});

t.test('a malformed hello is refused', async (t) => {
  const bad = Buffer.from(curlHello);
  bad.writeUInt16BE(0xffff, 43); // nonsense cipher-suite length inside the hello
  await exchange([bad]);
  await helloLog('WEAVER_ERR_HELLO_MALFORMED');
  await stillServes(t);
});

t.test('a hello sent one byte at a time hits the time cap', async (t) => {
  const drip = [...curlHello.subarray(0, 8)].map((b) => Buffer.from([b]));
  const started = Date.now();
  const reply = await exchange(drip, 1000);
  t.ok(Date.now() - started < 5000, 'closed by the cap, not by the client');
  t.equal(reply[0], 0x15, 'a TLS alert');
  await helloLog('WEAVER_ERR_HELLO_TIMEOUT');
  await stillServes(t);
});

t.test('an unknown SNI is refused when the pool says so', async (t) => {
  await t.rejects(
    new Promise((resolve, reject) => {
      const s = tls.connect({ port: h.port, host: '127.0.0.1', servername: 'nobody.test', rejectUnauthorized: false }, () => resolve(s));
      s.on('error', reject);
    }),
  );
  await h.waitForLog((l) => l.msg === 'TLS handshake failed');
  await stillServes(t);
});

t.test('a handshake that never finishes is timed out', async (t) => {
  const reply = await exchange([curlHello]); // a real hello, then silence
  t.ok(reply.length > 0, 'the server answered the hello before giving up');
  await h.waitForLog((l) => l.msg === 'TLS handshake failed' && l.code === 'ERR_TLS_HANDSHAKE_TIMEOUT');
  await stillServes(t);
});

for (const kind of ['throw', 'hang', 'nonsense']) {
  const code = { throw: 'WEAVER_ERR_PLUGIN_THREW', hang: 'WEAVER_ERR_PLUGIN_TIMEOUT', nonsense: 'WEAVER_ERR_PLUGIN_BAD_DECISION' }[kind];
  t.test(`a plugin that ${kind === 'throw' ? 'throws' : kind === 'hang' ? 'never resolves' : 'returns nonsense'}`, async (t) => {
    const openAgent = new Agent({ connect: { rejectUnauthorized: false, servername: `${kind}.open.test` } });
    const open = await request(`https://127.0.0.1:${h.port}/`, { dispatcher: openAgent });
    t.equal(open.statusCode, 200, 'failure: open carries on and the request is served');
    await open.body.text();
    await openAgent.close();
    await h.waitForLog((l) => l.msg === 'plugin hook failed' && l.plugin === 'misbehave-open' && l.code === code);

    const closed = await new Promise<Buffer>((resolve) => {
      const s = tls.connect({ port: h.port, host: '127.0.0.1', servername: `${kind}.closed.test`, rejectUnauthorized: false });
      s.on('error', () => resolve(Buffer.alloc(0)));
      s.on('secureConnect', () => resolve(Buffer.from('connected')));
    });
    t.equal(closed.length, 0, 'failure: closed refuses the connection');
    await h.waitForLog((l) => l.msg === 'plugin hook failed' && l.plugin === 'misbehave-closed' && l.code === code);
    await stillServes(t);
  });
}

t.test('bad configs are refused with clear errors while the running one serves', async (t) => {
  const file = join(h.dir, 'bad.yaml');
  t.throws(() => loadConfigText('listeners:\n  - name: x\n    port: [1\n', file), ConfigError, 'bad YAML');
  const start = (yaml: string) => Weaver.start(loadConfigText(yaml, file), { log: createLogger('silent'), processMetrics: false });
  const other = makeTestCert(['localhost']);
  writeFileSync(join(h.dir, 'garbage.pem'), 'not a certificate');
  const pools = (c: string, k: string) => `
listeners: [{ name: a, port: 0 }]
handshakePools: { primary: { kind: local, certificates: [{ cert: ${c}, key: ${k} }] } }
admin: { enabled: false }`;
  const refusal = async (yaml: string): Promise<Error> => start(yaml).then(() => new Error('started'), (e: Error) => e);
  const missing = await refusal(pools(join(h.dir, 'missing.pem'), cert.keyFile));
  t.ok(missing instanceof CertificateError, 'missing certificate');
  t.match(missing.message, /missing\.pem does not exist/);
  const mismatch = await refusal(pools(cert.certFile, other.keyFile));
  t.ok(mismatch instanceof CertificateError, 'key does not match certificate');
  t.match(mismatch.message, /does not match/);
  const garbage = await refusal(pools(join(h.dir, 'garbage.pem'), cert.keyFile));
  t.ok(garbage instanceof CertificateError, 'garbage PEM');
  t.match(garbage.message, /garbage\.pem/);
  const inUse = `
listeners: [{ name: a, port: ${h.port} }]
handshakePools: { primary: { kind: local, certificates: [{ cert: ${cert.certFile}, key: ${cert.keyFile} }] } }
admin: { enabled: false }`;
  await t.rejects(start(inUse), ListenError, 'port in use');
  await stillServes(t);
});
