// Paths with very different delays (5 ms and 60 ms one way, through delaying relays): frames of
// one stream arrive far out of order across the channels, and every body still arrives in order
// and intact, both ways, with several transfers at once.
import t from 'tap';
import { Relay } from './relay.ts';
import { BLOB, BLOB_SHA, channelsUp, client, freePort, sessions, sha256, startEdge, startEndpoint, startOrigin } from './support.ts';

const origin = await startOrigin(t);
const port = await freePort('127.0.0.2');
const endpoint = await startEndpoint(t, { listen: [`127.0.0.2:${port}`, `127.0.0.3:${port}`], allow: [`127.0.0.1:${origin.port}`] });
const fast = await Relay.start('127.0.0.4', { host: '127.0.0.2', port }, 5);
const slow = await Relay.start('127.0.0.5', { host: '127.0.0.3', port }, 60);
t.teardown(() => fast.close());
t.teardown(() => slow.close());
const edge = await startEdge(t, {
  originPort: origin.port,
  channels: [
    { name: 'fast', remote: `127.0.0.4:${fast.port}` },
    { name: 'slow', remote: `127.0.0.5:${slow.port}` },
  ],
});
await channelsUp(edge, 2);

t.test('downloads and uploads at once, 5 ms / 60 ms', async (t) => {
  const c = client(t, edge);
  const results = await Promise.all([c.get('/blob'), c.get('/blob'), c.post('/hash', BLOB), c.post('/hash', BLOB)]);
  t.equal(results[0]!.status, 200);
  t.equal(sha256(results[0]!.body), BLOB_SHA, 'download 1 intact');
  t.equal(sha256(results[1]!.body), BLOB_SHA, 'download 2 intact');
  for (const up of results.slice(2)) t.same(JSON.parse(up.body.toString()), { sha256: BLOB_SHA, bytes: BLOB.length }, 'upload intact');
  const far = (await sessions(endpoint)).find((x) => x.name === 'edge-1/main')!;
  const sent = Object.fromEntries(far.channels.map((ch) => [ch.name, ch.sentBytes]));
  t.comment(`endpoint sent by channel: ${JSON.stringify(sent)}`);
  t.ok(sent.slow! > 0, 'the slow path carried part of it');
});
