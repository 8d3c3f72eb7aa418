import t from 'tap';
import { loadConfigText } from '../../proxy/config/load.ts';
import { isLoopback, parseHostPort } from '../../proxy/config/semantic-checks.ts';
import { issuesOf, minimalYaml } from './helpers.ts';

t.test('a route naming an unknown upstream', async (t) => {
  const text = `${minimalYaml}routes:
  - match: { pathPrefix: /api }
    upstream: apu
  - upstream: web
upstreams:
  api:
    servers: [{ url: "http://127.0.0.1:9000" }]
`;
  t.same(issuesOf(text), [
    '11:15 routes[0].upstream: unknown upstream "apu" (did you mean "api"?)',
    '12:15 routes[1].upstream: unknown upstream "web" (defined: "api")',
  ]);
});

t.test('a listener naming an unknown pool, written or by default', async (t) => {
  const text = `listeners:
  - name: a
    port: 1
    pool: edge
  - name: b
    port: 2
handshakePools:
  tls:
    kind: local
    certificates: [{ dev: true }]
`;
  t.same(issuesOf(text), [
    '4:11 listeners[0].pool: unknown handshake pool "edge" (defined: "tls")',
    '5:5 listeners[1].pool: no pool set, and the default pool "primary" is not in handshakePools (defined: "tls")',
  ]);
});

t.test('listener names are unique', async (t) => {
  const text = minimalYaml.replace('handshakePools:', '  - name: web\n    port: 8444\nhandshakePools:');
  t.same(issuesOf(text), ['4:11 listeners[1].name: duplicate listener name "web" (also listeners[0])']);
});

t.test('the admin API off loopback needs a token', async (t) => {
  const message =
    'the admin API listens on "0.0.0.0", which is not loopback, without a token: ' +
    'set admin.token (16 characters or more) or bind it to "127.0.0.1" or "::1"';
  t.same(issuesOf(`${minimalYaml}admin:\n  address: 0.0.0.0\n`), [`10:12 admin.address: ${message}`]);
  const ok = [
    'admin:\n  address: 0.0.0.0\n  token: a-token-of-24-characters\n',
    'admin:\n  address: 0.0.0.0\n  enabled: false\n',
    'admin:\n  address: ::1\n',
    'admin:\n  address: localhost\n',
  ];
  for (const admin of ok) t.doesNotThrow(() => loadConfigText(minimalYaml + admin, '/cfg/w.yaml'), admin);
});

t.test('remote pool targets must be host:port', async (t) => {
  const text = `listeners: [{ name: web, port: 1 }]
handshakePools:
  primary:
    kind: remote
    targets:
      - address: "10.0.0.5:8443"
      - address: "[::1]:8443"
      - address: terminator.internal
      - address: "tls.internal:0"
`;
  const expected = (got: string) =>
    `expected host:port (e.g. 10.0.0.5:8443 or [::1]:8443) with a port from 1 to 65535, got "${got}"`;
  t.same(issuesOf(text), [
    `8:18 handshakePools.primary.targets[2].address: ${expected('terminator.internal')}`,
    `9:18 handshakePools.primary.targets[3].address: ${expected('tls.internal:0')}`,
  ]);
});

t.test('minVersion must not exceed maxVersion; requiring client certificates needs a CA', async (t) => {
  const text = `listeners: [{ name: web, port: 1 }]
handshakePools:
  primary:
    kind: local
    minVersion: TLSv1.3
    maxVersion: TLSv1.2
    clientCertificate: require
    certificates: [{ dev: true }]
`;
  t.same(issuesOf(text), [
    '6:17 handshakePools.primary.maxVersion: maxVersion TLSv1.2 is below minVersion TLSv1.3',
    '7:24 handshakePools.primary.clientCertificate: clientCertificate "require" needs clientCa, the CA bundle that client certificates must chain to',
  ]);
});

t.test('plugin names written in the file are unique', async (t) => {
  const text = `${minimalYaml}plugins:
  - use: ./plugins/rate-limit.ts
  - use: "@acme/rate-limit"
  - use: ./other.ts
    name: audit
  - use: ./audit.js
    name: audit
`;
  t.same(issuesOf(text), ['15:11 plugins[3].name: duplicate plugin name "audit" (also plugins[2])']);
  t.doesNotThrow(() =>
    loadConfigText(`${minimalYaml}plugins:\n  - use: ./a/x.ts\n  - use: ./b/x.ts\n    name: x2\n`, '/cfg/w.yaml'),
  );
});

t.test('semantic checks run only once the schema passes', async (t) => {
  const text = `${minimalYaml}routes: [{ upstream: nowhere }]\nhttp: { maxBodyBytes: -1 }\n`;
  t.same(issuesOf(text), ['10:23 http.maxBodyBytes: expected an integer of at least 0, got -1']);
});

t.test('parseHostPort', async (t) => {
  t.same(parseHostPort('example.com:443'), { host: 'example.com', port: 443 });
  t.same(parseHostPort('[2001:db8::1]:8443'), { host: '2001:db8::1', port: 8443 });
  for (const bad of ['example.com', ':443', 'a:b', 'x:65536', '2001:db8::1:443', '[nope]:1', 'a b:1']) {
    t.equal(parseHostPort(bad), undefined, bad);
  }
});

t.test('isLoopback', async (t) => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) t.ok(isLoopback(a), a);
  for (const a of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1']) t.notOk(isLoopback(a), a);
});
