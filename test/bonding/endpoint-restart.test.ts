// The endpoint restarts: the edge's channels fail, redial, are told the session is unknown, and
// the edge starts a new session on its own; requests work again without touching the edge.
import t from 'tap';
import { BLOB_SHA, channelsUp, client, freePort, sessions, sha256, startEdge, startEndpoint, startOrigin, until, twoChannels, twoListens } from './support.ts';

t.test('edge recovers from an endpoint restart', async (t) => {
  const origin = await startOrigin(t);
  const port = await freePort('127.0.0.2');
  const opts = { listen: twoListens(port), allow: [`127.0.0.1:${origin.port}`] };
  const first = await startEndpoint(t, opts);
  const edge = await startEdge(t, {
    originPort: origin.port,
    channels: twoChannels(port),
  });
  await channelsUp(edge, 2);
  const c = client(t, edge);
  t.equal(sha256((await c.get('/blob')).body), BLOB_SHA);
  const before = (await sessions(edge))[0] as unknown as { id: string };

  await first.stop();
  await until(async () => (await sessions(edge))[0]!.channels.every((ch) => ch.state === 'down'), 5_000, 'channels down');
  await startEndpoint(t, opts);
  await edge.waitForLog((l) => l.msg === 'bonded session lost; starting a new one', 10_000);
  await channelsUp(edge, 2);
  const after = (await sessions(edge))[0] as unknown as { id: string };
  t.not(after.id, before.id, 'a new session');
  t.equal(sha256((await c.get('/blob')).body), BLOB_SHA, 'traffic flows again');
});
