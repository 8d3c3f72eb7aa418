import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadConfigFile, loadConfigText } from '../../proxy/config/load.ts';
import { ConfigError } from '../../proxy/errors.ts';
import { issuesOf, minimalYaml, tempDir } from './helpers.ts';

t.test('an unclosed quote is reported at the opening quote', async (t) => {
  const text = 'listeners:\n  - name: "web\n    port: 8443\nhandshakePools: {}\n';
  t.same(issuesOf(text), ['2:11: missing closing " for the string that starts here']);
});

t.test('a key indented too little is reported at its first character', async (t) => {
  const text = 'listeners:\n  - name: web\n    port: 8443\n   address: 127.0.0.1\n';
  t.same(issuesOf(text), ['4:4: sequence item without - indicator (check the indentation)']);
});

t.test('mapping items at different columns', async (t) => {
  const text = 'log:\n    level: info\n  accessLog: true\n';
  t.same(issuesOf(text), ['3:3: all mapping items must start at the same column (check the indentation)']);
});

t.test('every duplicate key is reported, with where it first appeared', async (t) => {
  t.same(issuesOf('listeners:\n  - name: web\n    port: 1\n    port: 2\nlog: {}\nlog: {}\n'), [
    '4:5: duplicate key "port" (first on line 3)',
    '6:1: duplicate key "log" (first on line 5)',
  ]);
});

t.test('an alias without its anchor', async (t) => {
  t.same(issuesOf(`${minimalYaml}stateDir: *dir\n`), ['9:11: alias *dir has no anchor &dir before it']);
});

t.test('warnings count as errors', async (t) => {
  t.same(issuesOf(`${minimalYaml}stateDir: !path .weaver\n`), ['9:11: unresolved tag: !path']);
});

t.test('an empty file, or one of comments only, says so', async (t) => {
  for (const text of ['', '\n\n', '# nothing yet\n']) {
    t.same(issuesOf(text), ['1:1: the configuration is empty: it needs at least listeners and handshakePools']);
  }
});

t.test('a missing file names the file', async (t) => {
  const file = join(tempDir(t), 'nope.yaml');
  const err = await loadConfigFile(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof ConfigError);
  t.equal((err as ConfigError).message, `${file}:1:1: cannot read the configuration file: no such file`);
});

t.test('a file is read and loaded', async (t) => {
  const file = join(tempDir(t), 'weaver.yaml');
  writeFileSync(file, minimalYaml);
  const loaded = await loadConfigFile(file);
  t.equal(loaded.file, file);
  t.equal(loaded.config.listeners[0]!.port, 8443);
  t.same(loaded.locate(['listeners', 0, 'port']), { line: 3, col: 11 });
});

t.test('issue messages carry the file name', async (t) => {
  t.throws(() => loadConfigText('a: [1\n', 'conf/w.yaml'), { message: /^conf\/w\.yaml:\d+:\d+: / });
});
