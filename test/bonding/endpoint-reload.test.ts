// The endpoint reloads its config (here: a new allow list): the new plugin instance takes over
// the listening addresses and the live session, so the edge keeps its session and channels;
// new streams follow the new allow list at once.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { Relay } from './relay.ts';
import { channelsUp, client, freePort, sessions, startEdge, startEndpoint, startOrigin, until } from './support.ts';

t.test('endpoint reload keeps the session and applies the new allow list', async (t) => {
  const origin = await startOrigin(t);
  const port = await freePort('127.0.0.2');
  const endpoint = await startEndpoint(t, { listen: [`127.0.0.2:${port}`, `127.0.0.3:${port}`], allow: [`127.0.0.1:${origin.port}`] });
  const relay = await Relay.start('127.0.0.4', { host: '127.0.0.3', port });
  t.teardown(() => relay.close());
  const edge = await startEdge(t, {
    originPort: origin.port,
    channels: [
      { name: 'a', remote: `127.0.0.2:${port}` },
      { name: 'b', remote: `127.0.0.4:${relay.port}` },
    ],
  });
  await channelsUp(edge, 2);
  const c = client(t, edge);
  t.equal((await c.get('/')).status, 200);
  const before = (await sessions(edge))[0] as unknown as { id: string; channels: Array<{ reconnects: number }> };

  // Same addresses, an allow list without the origin.
  const file = join(endpoint.dir, 'weaver.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(`allow: ["127.0.0.1:${origin.port}"]`, 'allow: ["127.0.0.1:1"]'));
  const res = await request(`http://127.0.0.1:${endpoint.adminPort}/api/reload`, { method: 'POST' });
  t.equal(res.statusCode, 200, JSON.stringify(await res.body.json()));
  await new Promise((r) => setTimeout(r, 300));

  const after = (await sessions(edge))[0] as unknown as { id: string; channels: Array<{ state: string; reconnects: number }> };
  t.equal(after.id, before.id, 'the edge kept its session');
  t.ok(after.channels.every((ch) => ch.state === 'up' && ch.reconnects === 0), 'and its channels');
  t.same((await sessions(endpoint)).map((s) => s.name), ['edge-1/main'], 'the new instance reports the session');
  // A channel lost after the reload joins the session the new instance took over.
  relay.cut();
  await until(async () => (await sessions(edge))[0]!.channels[1]!.state !== 'up', 5_000, 'b down');
  relay.restore();
  await channelsUp(edge, 2);
  t.equal(((await sessions(edge))[0] as unknown as { id: string }).id, before.id, 'b rejoined the same session');

  // The edge keeps its upstream connection (a stream opened before) alive; new ones are refused.
  const results = await Promise.all(Array.from({ length: 10 }, () => c.get('/')));
  t.ok(results.some((r) => r.status === 502), 'a new stream to the no longer allowed origin is refused');
});
