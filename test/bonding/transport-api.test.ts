// The core's upstream transport API on its own, with a tiny third-party plugin: a server with
// `via: relay:x` gets its connections from the plugin (here a plain TCP connect it counts),
// keep-alive reuses them, a connect the transport rejects is a 502, and a scheme registered
// twice stops the second plugin's setup.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot, startWeaver } from '../support/weaver-harness.ts';
import { client, startOrigin, testCerts } from './support.ts';

const PLUGIN = `
import net from 'node:net';
import { definePlugin } from '${repoRoot}proxy/index.ts';
export const seen = [];
export default definePlugin({
  name: 'relay',
  setup(api) {
    api.upstreamTransports.register('relay', {
      connect(target, name) {
        seen.push(name + ' ' + target.protocol + '//' + target.host + ':' + target.port);
        if (name === 'broken') throw new Error('no way through');
        return net.connect(target.port, target.host);
      },
    });
    api.admin.route('GET', '/seen', () => ({ body: seen }));
  },
});
`;

const origin = await startOrigin(t);
const c = testCerts();
const config = (via: string, plugins: string) => `
listeners: [{ name: https, port: 0 }]
handshakePools: { primary: { kind: local, certificates: [{ cert: ${c.edge.certFile}, key: ${c.edge.keyFile} }] } }
routes: [{ match: { pathPrefix: / }, upstream: o }]
upstreams: { o: { servers: [{ url: "http://127.0.0.1:${origin.port}", via: "${via}" }], retries: { attempts: 0 } } }
admin: { port: 0 }
log: { accessLog: false }
plugins: ${plugins}
`;
const setup = (dir: string) => writeFileSync(join(dir, 'relay.ts'), PLUGIN);

t.test('connections come from the transport, kept alive', async (t) => {
  const h = await startWeaver(config('relay:x', '[{ use: ./relay.ts }]'), { setup });
  t.teardown(() => h.stop());
  const cl = client(t, h);
  for (let i = 0; i < 5; i++) t.equal((await cl.get('/')).body.toString(), 'ok');
  const seen = (await (await fetch(`http://127.0.0.1:${h.adminPort}/api/plugins/relay/seen`)).json()) as string[];
  t.same(seen, [`x http://127.0.0.1:${origin.port}`], 'one connection, reused, with the target and name');
});

t.test('a transport that cannot connect gives 502', async (t) => {
  const h = await startWeaver(config('relay:broken', '[{ use: ./relay.ts }]'), { setup });
  t.teardown(() => h.stop());
  const res = await client(t, h).get('/');
  t.equal(res.status, 502);
  t.match(res.body.toString(), /WEAVER_ERR_UPSTREAM_CONNECT/);
});

t.test('a scheme registered twice', async (t) => {
  await t.rejects(startWeaver(config('relay:x', '[{ use: ./relay.ts }, { use: ./relay.ts, name: relay2 }]'), { setup }), {
    message: /transport scheme "relay" is already registered by plugin "relay"/,
  });
});
