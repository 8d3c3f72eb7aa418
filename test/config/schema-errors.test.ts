import t from 'tap';
import { issuesOf, minimalYaml } from './helpers.ts';

t.test('a wrong type deep in the tree: exact path, position and expectation', async (t) => {
  const text = `listeners:
  - name: web
    port: 8443
    clientHello:
      maxBytes: lots
handshakePools:
  primary: { kind: local, certificates: [{ dev: true }] }
`;
  t.same(issuesOf(text), ['5:17 listeners[0].clientHello.maxBytes: expected an integer from 512 to 65536, got "lots"']);
});

t.test('out of range and wrong scalar types', async (t) => {
  const text = minimalYaml.replace('port: 8443', 'port: "abc"') + 'http:\n  trustForwarded: yes\n  maxHeaderBytes: 10\n';
  t.same(issuesOf(text), [
    '3:11 listeners[0].port: expected an integer from 0 to 65535, got "abc"',
    '10:19 http.trustForwarded: expected true or false, got "yes"',
    '11:19 http.maxHeaderBytes: expected an integer from 1024 to 1048576, got 10',
  ]);
});

t.test('an unknown key is reported at the key, with a suggestion', async (t) => {
  const text = minimalYaml.replace('    port: 8443\n', '    prot: 8443\n');
  t.same(issuesOf(text), [
    '2:5 listeners[0].port: missing required key "port"',
    '3:5 listeners[0].prot: unknown key "prot" (did you mean "port"?)',
  ]);
});

t.test('an unknown key far from any known one lists the known keys', async (t) => {
  t.same(issuesOf(`${minimalYaml}log:\n  colour: true\n`), ['10:3 log.colour: unknown key "colour" (known keys: level, accessLog)']);
  t.same(issuesOf(`${minimalYaml}listener: []\n`), ['9:1 listener: unknown key "listener" (did you mean "listeners"?)']);
});

t.test('a missing required key is reported at the mapping that lacks it', async (t) => {
  const text = 'listeners:\n  - name: web\n    address: 0.0.0.0\n';
  t.same(issuesOf(text), [
    '1:1 handshakePools: missing required key "handshakePools"',
    '2:5 listeners[0].port: missing required key "port"',
  ]);
});

t.test('a handshake pool is checked as the kind it names, and only that kind', async (t) => {
  const text = `listeners: [{ name: web, port: 1 }]
handshakePools:
  primary:
    kind: local
    delayMs: -5
    certificates: [{ dev: true }]
  edge:
    kind: remote
    targets: []
  typo:
    kind: lokal
  none:
    targets: [{ address: "10.0.0.1:443" }]
`;
  t.same(issuesOf(text), [
    '5:14 handshakePools.primary.delayMs: expected an integer from 0 to 60000, got -5',
    '9:14 handshakePools.edge.targets: expected a list of at least 1 item, got an empty list',
    '11:11 handshakePools.typo.kind: expected "local" or "remote", got "lokal" (did you mean "local"?)',
    '13:5 handshakePools.none.kind: missing required key "kind" (expected "local" or "remote")',
  ]);
});

t.test('a certificate entry is a dev one when it has `dev`, a files one otherwise', async (t) => {
  const text = `listeners: [{ name: web, port: 1 }]
handshakePools:
  primary:
    kind: local
    certificates:
      - dev: true
        cert: a.pem
      - cert: a.pem
      - dev: false
      - site.pem
`;
  t.same(issuesOf(text), [
    '7:9 handshakePools.primary.certificates[0].cert: unknown key "cert" (known keys: dev, hosts)',
    '8:9 handshakePools.primary.certificates[1].key: missing required key "key"',
    '9:14 handshakePools.primary.certificates[2].dev: expected true, got false',
    '10:9 handshakePools.primary.certificates[3]: expected a mapping, got "site.pem"',
  ]);
});

t.test('one issue per problem: a value failing two rules of one schema is reported once', async (t) => {
  const name = `-${'x'.repeat(70)}`;
  const issues = issuesOf(minimalYaml.replace('name: web', `name: "${name}"`));
  t.equal(issues.length, 1);
  t.match(issues[0], /^2:11 listeners\[0\]\.name: expected a string matching .* of at most 64 characters, got "-x+"/);
});

t.test('a literal union names its options and suggests the closest', async (t) => {
  t.same(issuesOf(`${minimalYaml}log: { level: warning }\n`), [
    '9:15 log.level: expected one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "warning" (did you mean "warn"?)',
  ]);
});

t.test('a secret is never echoed in a message', async (t) => {
  const issues = issuesOf(`${minimalYaml}admin:\n  token: hunter2\n`);
  t.same(issues, ['10:10 admin.token: expected a string of at least 16 characters, got a string of 7 characters']);
  t.notMatch(issues.join('\n'), /hunter2/);
});

t.test('a section of the wrong shape', async (t) => {
  t.same(issuesOf('listeners: {}\nhandshakePools: []\n'), [
    '1:12 listeners: expected a list of at least 1 item, got a mapping',
    '2:17 handshakePools: expected a mapping, got an empty list',
  ]);
  t.same(issuesOf('- listeners\n'), ['1:1: expected a mapping, got a list of 1 item']);
});
