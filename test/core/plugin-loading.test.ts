// Plugins load from a path or a package name, in config order; bad ones stop startup clearly.
import t, { type Test } from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { PluginError } from '../../proxy/errors.ts';
import { startWeaver, repoRoot } from '../support/weaver-harness.ts';

const base = `
listeners: [{ name: https, port: 0 }]
handshakePools:
  primary: { kind: local, certificates: [{ dev: true, hosts: [localhost] }] }
admin: { port: 0 }
`;

// A plain-JS plugin package, installed beside the config the way a user would install one.
const pkg = {
  'package.json': JSON.stringify({ name: 'weaver-plugin-hello', version: '1.2.3', type: 'module', exports: './index.js' }),
  'index.js': `export default {
    name: 'hello', version: '1.2.3',
    setup(api) { api.admin.route('GET', '/greet', () => ({ body: { hi: api.options.who ?? 'world' } })); return {}; },
  };\n`,
};

t.test('a plugin loads by package name from beside the config', async (t) => {
  const h = await startWeaver(`${base}plugins:\n  - use: weaver-plugin-hello\n    options: { who: config }\n`, {
    setup(dir) {
      const at = join(dir, 'node_modules', 'weaver-plugin-hello');
      mkdirSync(at, { recursive: true });
      for (const [name, text] of Object.entries(pkg)) writeFileSync(join(at, name), text);
    },
  });
  t.teardown(() => h.stop());
  const plugins = (await (await request(`http://127.0.0.1:${h.adminPort}/api/plugins`)).body.json()) as Array<{ name: string; version: string }>;
  t.match(plugins, [{ name: 'hello', version: '1.2.3' }]);
  const greet = await request(`http://127.0.0.1:${h.adminPort}/api/plugins/hello/greet`);
  t.same(await greet.body.json(), { hi: 'config' });
});

async function startFails(t: Test, yaml: string): Promise<PluginError> {
  const err = await startWeaver(yaml).then(
    async (h) => {
      await h.stop();
      return undefined;
    },
    (e: unknown) => e,
  );
  t.ok(err instanceof PluginError, 'startup refused with a PluginError');
  return err as PluginError;
}

t.test('the same plugin twice needs distinct names', async (t) => {
  const tracer = `${repoRoot}examples/phase-tracer/index.ts`;
  const err = await startFails(t, `${base}plugins:\n  - use: ${tracer}\n  - use: ${tracer}\n`);
  t.equal(err.code, 'WEAVER_ERR_PLUGIN_LOAD');
  t.match(err.message, /phase-tracer: loaded twice; give one of the entries a distinct `name`/);
  const ok = await startWeaver(`${base}plugins:\n  - use: ${tracer}\n  - use: ${tracer}\n    name: tracer-2\n`);
  await ok.stop();
});

t.test('options that do not match the plugin schema stop startup with the path', async (t) => {
  const err = await startFails(t, `${base}plugins:\n  - use: ${repoRoot}examples/phase-tracer/index.ts\n    options: { keep: 0 }\n`);
  t.equal(err.code, 'WEAVER_ERR_PLUGIN_OPTIONS');
  t.match(err.message, /options\.keep/);
});

t.test('a setup that throws stops startup and names the plugin', async (t) => {
  const err = await startFails(t, `${base}plugins:\n  - use: ./bad.ts\n`.replace('./bad.ts', join(repoRoot, 'test/fixtures/plugins/setup-throws.ts')));
  t.equal(err.code, 'WEAVER_ERR_PLUGIN_LOAD');
  t.match(err.message, /setup-throws: setup failed: no database/);
});
