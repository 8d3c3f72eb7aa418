// Listeners across a reload: one only in the new config starts, one only in the old stops
// accepting while its open connections carry on, and a port that cannot be bound refuses the
// whole reload with nothing changed.
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Agent, request } from 'undici';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { h1Request } from '../http/clients.ts';
import { startWeaver } from '../support/weaver-harness.ts';

const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
t.teardown(() => origin.close());

function yaml(listeners: string): string {
  return `listeners: ${listeners}
handshakePools:
  primary: { kind: local, certificates: [{ dev: true, hosts: [localhost, 127.0.0.1] }] }
routes: [{ upstream: origin }]
upstreams: { origin: { servers: [{ url: "http://127.0.0.1:${origin.port}" }] } }
admin: { port: 0 }
`;
}

function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

t.test('a listener added and one dropped by a reload', async (t) => {
  const h = await startWeaver(yaml('[{ name: old, port: 0 }]'));
  t.teardown(() => h.stop());
  const oldPort = h.port;
  const keepAlive = new Agent({ connect: { rejectUnauthorized: false }, connections: 1 });
  t.teardown(() => keepAlive.close());
  const onOld = async () => {
    const res = await request(`https://127.0.0.1:${oldPort}/`, { dispatcher: keepAlive });
    await res.body.dump();
    return { status: res.statusCode, connection: res.headers.connection };
  };
  t.same(await onOld(), { status: 200, connection: 'keep-alive' });

  writeFileSync(join(h.dir, 'weaver.yaml'), yaml('[{ name: new, port: 0 }]'));
  const summary = await h.weaver.reloadFromFile();
  t.same(summary.listeners, { kept: [], started: ['new'], stopped: ['old'] });
  const newPort = h.weaver.port('new');
  t.equal((await h1Request(`https://127.0.0.1:${newPort}`, '/')).status, 200, 'the new listener serves');
  t.equal(await connectOutcome(oldPort), 'ECONNREFUSED', 'the dropped listener takes no new connection');
  t.same(await onOld(), { status: 200, connection: 'close' }, 'its open connection still gets its answer');
});

t.test('a port that cannot be bound refuses the reload; nothing changes', async (t) => {
  const h = await startWeaver(yaml('[{ name: main, port: 0 }]'));
  t.teardown(() => h.stop());
  const squatter = net.createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
  const taken = (squatter.address() as net.AddressInfo).port;

  writeFileSync(join(h.dir, 'weaver.yaml'), yaml(`[{ name: main, port: 0 }, { name: extra, port: ${taken} }]`));
  const res = await request(`http://127.0.0.1:${h.adminPort}/api/reload`, { method: 'POST' });
  t.equal(res.statusCode, 422);
  t.match(await res.body.json(), { reloaded: false, code: 'WEAVER_ERR_LISTEN', error: /already in use/ });
  t.throws(() => h.weaver.port('extra'), 'the listener was not added');
  t.equal((await h1Request(`https://127.0.0.1:${h.port}`, '/')).status, 200, 'the old listener still serves');
  t.equal(h.weaver.runtime.config.listeners.length, 1, 'the running config is the old one');
});
