import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { handshake, listen, tempDir } from './helpers.ts';

const weaver = fileURLToPath(new URL('../../bin/weaver', import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [weaver, ...args], (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

t.test('weaver cert writes a pair that a real TLS handshake accepts', async (t) => {
  const out = join(tempDir(t), 'certs');
  const r = await run(['cert', '--host', 'example.test', '--host', '127.0.0.1', '--out', out, '--days', '7']);
  t.equal(r.stderr, '');
  t.equal(r.code, 0);
  const certFile = join(out, 'cert.pem');
  const keyFile = join(out, 'key.pem');
  t.match(r.stdout, `wrote ${certFile}\n  and ${keyFile} (mode 0600)\n  for example.test, 127.0.0.1, valid 7 days\n`);
  t.equal(statSync(keyFile).mode & 0o777, 0o600);

  const cert = readFileSync(certFile, 'utf8');
  const port = await listen(t, { cert, key: readFileSync(keyFile, 'utf8') });
  const peer = await handshake(port, 'example.test', cert);
  t.equal(peer.subject.CN, 'example.test');
  const wrongName = await handshake(port, 'other.test', cert).catch((e: NodeJS.ErrnoException) => e.code);
  t.equal(wrongName, 'ERR_TLS_CERT_ALTNAME_INVALID', 'and only for its own names');
});

t.test('weaver cert needs a host and a sane validity', async (t) => {
  const noHost = await run(['cert', '--out', tempDir(t)]);
  t.equal(noHost.code, 2);
  t.match(noHost.stderr, /^weaver cert: --host is required\n/);
  const tooLong = await run(['cert', '--host', 'a.test', '--days', '400', '--out', tempDir(t)]);
  t.equal(tooLong.code, 2);
  t.match(tooLong.stderr, /--days must be a whole number from 1 to 397, got "400"/);
  const badHost = await run(['cert', '--host', 'a b', '--out', tempDir(t)]);
  t.equal(badHost.code, 1);
  t.equal(badHost.stderr, 'weaver cert: not a DNS name or IP address: "a b"\n');
});
