import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { checkConfig } from '../../cli/check.ts';
import { minimalYaml, tempDir } from './helpers.ts';

const weaver = fileURLToPath(new URL('../../bin/weaver', import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [weaver, ...args], (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

t.test('weaver check exits 0 and summarizes a valid config', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'weaver.yaml');
  writeFileSync(
    file,
    `${minimalYaml}routes: [{ upstream: api }]\nupstreams:\n  api:\n    servers: [{ url: "http://127.0.0.1:9000" }]\n`,
  );
  const r = await run(['check', '-c', file]);
  t.equal(r.stderr, '');
  t.equal(r.stdout, `ok: ${file} (1 listener, 1 pool, 1 route, 1 upstream, 0 plugins)\n`);
  t.equal(r.code, 0);
  t.ok(existsSync(join(dir, '.weaver', 'dev-cert.pem')), 'the dev certificate was made in stateDir');
});

t.test('weaver check exits 1 with one line per issue on stderr', async (t) => {
  const file = join(tempDir(t), 'broken.yaml');
  writeFileSync(file, minimalYaml.replace('port: 8443', 'port: 99999') + 'admin:\n  adress: 0.0.0.0\n');
  const r = await run(['check', '--config', file]);
  t.equal(r.code, 1);
  t.equal(r.stdout, '');
  t.equal(
    r.stderr,
    `${file}:3:11 at listeners[0].port: expected an integer from 0 to 65535, got 99999\n` +
      `${file}:10:3 at admin.adress: unknown key "adress" (did you mean "address"?)\n`,
  );
});

t.test('certificate problems are issues at the entry that names the file', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'weaver.yaml');
  writeFileSync(file, `${minimalYaml}      - cert: missing.pem\n        key: missing.key\n`);
  const result = await checkConfig(file);
  t.equal(result.ok, false);
  if (result.ok) return;
  t.same(result.issues, [
    {
      file,
      line: 9,
      col: 9,
      path: 'handshakePools.primary.certificates[1]',
      message: `certificate file ${join(dir, 'missing.pem')} does not exist`,
    },
  ]);
  const r = await run(['check', file]);
  t.equal(r.code, 1);
  t.match(r.stderr, /:9:9 at handshakePools\.primary\.certificates\[1\]: certificate file .* does not exist\n$/);
});

t.test('a missing config file, and bad arguments', async (t) => {
  const file = join(tempDir(t), 'absent.yaml');
  const r = await run(['check', '-c', file]);
  t.equal(r.code, 1);
  t.equal(r.stderr, `${file}:1:1: cannot read the configuration file: no such file\n`);
  const bad = await run(['check', '--nope']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^weaver check: .*nope.*\nusage: weaver check/);
});

t.test('weaver check loads each plugin and validates its options without running it', async (t) => {
  const dir = tempDir(t);
  const tracer = fileURLToPath(new URL('../../examples/phase-tracer/index.ts', import.meta.url));
  const good = join(dir, 'good.yaml');
  writeFileSync(good, `${minimalYaml}plugins:\n  - use: ${tracer}\n    options: { keep: 5 }\n`);
  const ok = await checkConfig(good);
  t.ok(ok.ok, 'valid plugin options pass');

  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, `${minimalYaml}plugins:\n  - use: ${tracer}\n    options: { keep: "many" }\n  - use: ./nowhere.ts\n`);
  const r = await checkConfig(bad);
  t.notOk(r.ok);
  if (r.ok) return;
  t.equal(r.issues.length, 2);
  t.match(r.issues[0], { path: 'plugins[0].options', message: /invalid options: options\.keep/ });
  t.match(r.issues[1], { path: 'plugins[1].use', message: /cannot load ".*nowhere\.ts"/ });
});
