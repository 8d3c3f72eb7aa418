import t from 'tap';
import { loadConfigText, redactConfig } from '../../proxy/config/load.ts';
import { minimalYaml } from './helpers.ts';

t.test('defaults are filled at every depth, inside records and union members too', async (t) => {
  const text = `${minimalYaml}  edge:
    kind: remote
    targets: [{ address: "10.0.0.1:443" }]
upstreams:
  api:
    servers: [{ url: "http://127.0.0.1:9000" }]
routes:
  - upstream: api
http: {}
`;
  const { config } = loadConfigText(text, '/srv/weaver/weaver.yaml');
  const listener = config.listeners[0]!;
  t.equal(listener.address, '127.0.0.1');
  t.equal(listener.pool, 'primary');
  t.same(listener.clientHello, { maxBytes: 16_384, timeoutMs: 5_000 });
  t.equal(config.http.maxHeaderBytes, 16_384);
  t.equal(config.http.keepAliveTimeoutMs, 5_000);
  const primary = config.handshakePools.primary!;
  t.equal(primary.kind, 'local');
  if (primary.kind === 'local') {
    t.equal(primary.unknownSni, 'default');
    t.same(primary.alpn, ['h2', 'http/1.1']);
    t.equal(primary.handshakeTimeoutMs, 10_000);
    t.same(primary.certificates[0], { dev: true, hosts: ['localhost', '127.0.0.1', '::1'] });
  }
  const edge = config.handshakePools.edge!;
  if (edge.kind === 'remote') {
    t.equal(edge.connectTimeoutMs, 5_000);
    t.equal(edge.targets[0]!.weight, 1);
  } else t.fail('edge should be remote');
  const api = config.upstreams.api!;
  t.equal(api.connections, 128);
  t.same(api.servers[0], { url: 'http://127.0.0.1:9000', weight: 1, labels: [] });
  t.same(config.routes[0]!.match, { pathPrefix: '/' });
  t.same(config.log, { level: 'info', accessLog: true });
  t.same(config.admin, { enabled: true, address: '127.0.0.1', port: 9901 });
});

t.test('absent and empty sections get their defaults', async (t) => {
  const { config } = loadConfigText(`${minimalYaml}http:\nplugins:\nadmin:\n`, '/cfg/w.yaml');
  t.equal(config.http.maxHeaderBytes, 16_384);
  t.same(config.plugins, []);
  t.same(config.routes, []);
  t.same(config.upstreams, {});
  t.equal(config.admin.port, 9901);
});

t.test('relative paths are resolved against the config file directory', async (t) => {
  const text = `listeners: [{ name: web, port: 1 }]
stateDir: state
handshakePools:
  primary:
    kind: local
    clientCa: ../ca/clients.pem
    certificates:
      - cert: certs/site.pem
        key: /etc/weaver/site.key
      - dev: true
plugins:
  - use: ./plugins/audit.ts
  - use: ../shared/geo.js
  - use: "@acme/weaver-waf"
  - use: weaver-plugin-cors
    name: cors
`;
  const loaded = loadConfigText(text, '/srv/weaver/conf/weaver.yaml');
  t.equal(loaded.file, '/srv/weaver/conf/weaver.yaml');
  t.equal(loaded.dir, '/srv/weaver/conf');
  const { config } = loaded;
  t.equal(config.stateDir, '/srv/weaver/conf/state');
  const pool = config.handshakePools.primary!;
  if (pool.kind !== 'local') throw new Error('expected a local pool');
  t.equal(pool.clientCa, '/srv/weaver/ca/clients.pem');
  t.same(pool.certificates[0], { cert: '/srv/weaver/conf/certs/site.pem', key: '/etc/weaver/site.key' });
  t.same(
    config.plugins.map((p) => p.use),
    ['/srv/weaver/conf/plugins/audit.ts', '/srv/weaver/shared/geo.js', '@acme/weaver-waf', 'weaver-plugin-cors'],
  );
});

t.test('the default stateDir sits next to the config file', async (t) => {
  t.equal(loadConfigText(minimalYaml, '/opt/w/weaver.yaml').config.stateDir, '/opt/w/.weaver');
});

t.test('redactConfig hides secrets in a copy', async (t) => {
  const text = `${minimalYaml}admin:
  token: 0123456789abcdef0123
plugins:
  - use: ./auth.ts
    options:
      users: [{ name: ann, password: pw1 }]
      Secret: s3
      tokenTtl: 60
`;
  const { config } = loadConfigText(text, '/cfg/w.yaml');
  const safe = redactConfig(config);
  t.equal(safe.admin.token, '[redacted]');
  t.same(safe.plugins[0]!.options, { users: [{ name: 'ann', password: '[redacted]' }], Secret: '[redacted]', tokenTtl: 60 });
  t.equal(config.admin.token, '0123456789abcdef0123', 'the original is untouched');
  t.notMatch(JSON.stringify(safe), /pw1|s3"|0123456789abcdef/);
  t.equal(safe.listeners[0]!.port, 8443);
});
