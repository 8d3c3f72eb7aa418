// A retired runtime does not wait for ever: a connection still open when drainTimeoutMs has
// passed is cut, and then the runtime closes (its plugins' onStop runs).
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import t from 'tap';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { startWeaver } from '../support/weaver-harness.ts';

const stopper = `export default {
  name: 'stopper',
  setup(api) { api.onStop(() => api.log.info({ gen: api.options.gen }, 'stopper stopped')); return {}; },
};
`;

t.test('connections still open at the drain timeout are cut, then the old runtime closes', async (t) => {
  const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
  t.teardown(() => origin.close());
  const yaml = (gen: number) => `listeners: [{ name: https, port: 0 }]
handshakePools:
  primary: { kind: local, certificates: [{ dev: true, hosts: [localhost, 127.0.0.1] }] }
routes: [{ upstream: origin }]
upstreams: { origin: { servers: [{ url: "http://127.0.0.1:${origin.port}" }] } }
http: { keepAliveTimeoutMs: 60000 }
drainTimeoutMs: 300
plugins: [{ use: ./stopper.js, options: { gen: ${gen} } }]
admin: { port: 0 }
`;
  const h = await startWeaver(yaml(1), { setup: (dir) => writeFileSync(join(dir, 'stopper.js'), stopper) });
  t.teardown(() => h.stop());

  // One request, then the connection idles: keep-alive would hold it for a minute.
  const socket = tls.connect({ host: '127.0.0.1', port: h.port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
  await once(socket, 'secureConnect');
  socket.write('GET / HTTP/1.1\r\nhost: localhost\r\n\r\n');
  const [first] = (await once(socket, 'data')) as [Buffer];
  t.match(first.toString(), /^HTTP\/1\.1 200 /);
  const closed = once(socket, 'close');

  writeFileSync(join(h.dir, 'weaver.yaml'), yaml(2));
  const summary = await h.weaver.reloadFromFile();
  t.equal(summary.draining, 1, 'the idle connection stays on the old runtime');
  const cut = await h.waitForLog((l) => String(l.msg).startsWith('previous runtime closed'));
  t.equal(cut.cut, 1, 'the drain timeout cut it');
  t.equal(cut.level, 40, 'and says so as a warning');
  await closed;
  t.ok(h.logs.some((l) => l.msg === 'stopper stopped' && l.gen === 1), "the old runtime's plugin stopped");
  t.notOk(h.logs.some((l) => l.msg === 'stopper stopped' && l.gen === 2), 'the new one runs on');
});
