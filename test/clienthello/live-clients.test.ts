// Real clients on loopback: curl, openssl s_client in four shapes, and node's tls.connect. The
// hello each puts on the wire is read with readClientHello, its fields checked, and
// fingerprints() must equal what `weaver fingerprint --hex` prints for the same bytes.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import tls from 'node:tls';
import { fingerprints } from '../../proxy/clienthello/fingerprints.ts';
import type { ClientHello, HelloArrival } from '../../proxy/clienthello/types.ts';
import { startCaptureServer } from '../support/capture-server.ts';
import { referenceHello } from '../support/reference-hellos.ts';
import { jsonLines, runWeaver } from '../support/run-weaver.ts';

const capture = await startCaptureServer({ timeoutMs: 5000 });
t.teardown(() => capture.close());
const port = capture.port;

function version(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}
const curlVersion = version('curl', ['--version']);
const opensslVersion = version('openssl', ['version']);

interface Captured {
  name: string;
  hello: ClientHello;
  arrival: HelloArrival;
}
const captured: Captured[] = [];

// Starts the client, waits for its hello, then stops the client (its handshake cannot finish).
async function captureFrom(name: string, cmd: string, args: string[]): Promise<Captured> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'ignore'] });
  const c = await capture.next();
  child.kill();
  if (!c.ok) throw c.error;
  const got = { name, hello: c.hello, arrival: c.arrival };
  captured.push(got);
  return got;
}

// Enough ALPN names to push OpenSSL's hello past 512 bytes, so -max_send_frag 512 must split it.
const manyProtocols = ['h2', 'http/1.1', ...Array.from({ length: 40 }, (_, i) => `weaver-test-protocol-${i}`)].join(',');

t.test('curl', { skip: !curlVersion && 'curl is not installed' }, async (t) => {
  const { hello } = await captureFrom('curl', 'curl', ['-sk', '--max-time', '5', `https://localhost:${port}/`]);
  t.equal(hello.sni, 'localhost');
  t.same(hello.alpn, ['h2', 'http/1.1']);
  t.ok(hello.supportedVersions.includes(0x0304), 'offers TLS 1.3');
  t.equal(hello.recordVersion, 0x0301);
  // The reference set was captured from this curl build; when it is the one installed, the
  // fingerprints must be those the reference tools computed.
  const ref = referenceHello('cap-002');
  if (curlVersion!.startsWith('curl 7.88.1') && curlVersion!.includes('OpenSSL/3.0.19')) {
    t.equal(fingerprints(hello).ja4, ref.ja4, 'JA4 as FoxIO ja4.py computed for this curl');
    t.equal(fingerprints(hello).ja3, ref.ja3, 'JA3 as tshark computed for this curl');
  }
});

t.test('openssl s_client', { skip: !opensslVersion && 'openssl is not installed' }, async (t) => {
  const base = ['s_client', '-connect', `127.0.0.1:${port}`];
  const plain = await captureFrom('s_client plain', 'openssl', [...base, '-servername', 'localhost']);
  t.equal(plain.hello.sni, 'localhost');
  t.same(plain.hello.alpn, []);
  t.ok(plain.hello.supportedVersions.includes(0x0304));
  t.equal(plain.arrival.records, 1);
  t.match(fingerprints(plain.hello).ja4, /^t13d\d{4}00_/, 'no ALPN: 00');

  const noSni = await captureFrom('s_client -noservername', 'openssl', [...base, '-noservername']);
  t.equal(noSni.hello.sni, undefined);
  t.notOk(noSni.hello.extensionTypes.includes(0), 'no server_name extension at all');
  t.match(fingerprints(noSni.hello).ja4, /^t13i/);
  t.equal(fingerprints(noSni.hello).ja4.split('_')[2], fingerprints(plain.hello).ja4.split('_')[2],
    'SNI left out of the sorted extension hash');

  const tls12 = await captureFrom('s_client -tls1_2', 'openssl', [...base, '-tls1_2', '-servername', 'localhost']);
  t.same(tls12.hello.supportedVersions, [], 'no supported_versions extension');
  t.equal(tls12.hello.helloVersion, 0x0303);
  t.match(fingerprints(tls12.hello).ja4, /^t12d/);

  const frag = await captureFrom('s_client -max_send_frag 512', 'openssl', [
    ...base, '-servername', 'localhost', '-max_send_frag', '512', '-alpn', manyProtocols,
  ]);
  t.ok(frag.hello.helloLength > 512, `a ${frag.hello.helloLength}-byte hello`);
  t.equal(frag.arrival.records, Math.ceil(frag.hello.helloLength / 512), `${frag.arrival.records} records of at most 512 bytes`);
  t.equal(frag.hello.raw.readUInt16BE(3), 512, 'the first record is full');
  t.equal(frag.hello.alpn.length, 42);
  t.equal(frag.hello.sni, 'localhost');
});

t.test('node tls.connect', async (t) => {
  const client = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'], rejectUnauthorized: false });
  client.on('error', () => {});
  const c = await capture.next();
  client.destroy();
  if (!c.ok) throw c.error;
  captured.push({ name: 'node tls.connect', hello: c.hello, arrival: c.arrival });
  t.equal(c.hello.sni, 'localhost');
  t.same(c.hello.alpn, ['h2', 'http/1.1']);
  t.ok(c.hello.supportedVersions.includes(0x0304));
  t.ok(c.hello.keyShares.length >= 1, 'sends a key share');
  t.ok(c.arrival.acceptToFirstByteMs >= 0);
});

t.test('weaver fingerprint --hex agrees with fingerprints() on every captured hello', async (t) => {
  t.ok(captured.length >= 2, `${captured.length} hellos captured`);
  const args = ['fingerprint', ...captured.flatMap((c) => ['--hex', c.hello.raw.toString('hex')])];
  const run = await runWeaver(args);
  t.equal(run.code, 0, run.stderr);
  const lines = jsonLines(run.stdout);
  t.equal(lines.length, captured.length);
  captured.forEach((c, i) => {
    t.same(lines[i], { sni: c.hello.sni ?? null, alpn: c.hello.alpn[0] ?? null, ...fingerprints(c.hello) }, c.name);
  });
});
