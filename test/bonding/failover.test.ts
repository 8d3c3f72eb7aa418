// A path dies in the middle of a large transfer: blackholed (no FIN, no RST) during a download,
// cut (connections reset) during an upload. The transfer completes intact with no client-visible
// error; the channel shows as down in the admin API, then up again once the path is back.
import t, { type Test } from 'tap';
import { request } from 'undici';
import { Relay } from './relay.ts';
import { BLOB, BLOB_SHA, channelsUp, client, freePort, sessions, sha256, startEdge, startEndpoint, startOrigin, until, twoListens } from './support.ts';

const origin = await startOrigin(t);
const port = await freePort('127.0.0.2');
const endpoint = await startEndpoint(t, { listen: twoListens(port), allow: [`127.0.0.1:${origin.port}`] });

/** Small windows: most of the body waits at the endpoint, so the dead path has frames in flight. */
async function pair(t: Test) {
  const relay = await Relay.start('127.0.0.4', { host: '127.0.0.2', port });
  t.teardown(() => relay.close());
  const edge = await startEdge(t, {
    originPort: origin.port,
    sessionExtra: '            streamWindowBytes: 524288\n            sessionWindowBytes: 1048576',
    channels: [
      { name: 'a', remote: `127.0.0.4:${relay.port}` },
      { name: 'b', remote: `127.0.0.3:${port}` },
    ],
  });
  await channelsUp(edge, 2);
  return { relay, edge };
}

const stateOf = async (edge: Parameters<typeof sessions>[0], name: string) => (await sessions(edge))[0]!.channels.find((c) => c.name === name)!.state;

t.test('blackholed path during a download', async (t) => {
  const { relay, edge } = await pair(t);
  const c = client(t, edge);
  const res = await request(`https://127.0.0.1:${edge.port}/blob`, { dispatcher: c.agent });
  const parts: Buffer[] = [];
  let got = 0;
  let cutDone = false;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    parts.push(chunk);
    got += chunk.length;
    if (!cutDone && got >= 2 * 1024 * 1024) {
      cutDone = true;
      relay.blackhole();
      // Slow down so the rest of the body is still in flight when the path dies.
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const body = Buffer.concat(parts);
  t.equal(res.statusCode, 200);
  t.equal(body.length, BLOB.length, 'every byte arrived');
  t.equal(sha256(body), BLOB_SHA, 'in order and intact');
  await until(async () => (await stateOf(edge, 'a')) === 'down', 5_000, 'channel a down');
  t.pass('channel a reported down');
  relay.restore();
  await until(async () => (await stateOf(edge, 'a')) === 'up', 10_000, 'channel a up again');
  const [s] = await sessions(edge);
  t.ok(s!.channels.find((ch) => ch.name === 'a')!.reconnects >= 1, 'channel a reconnected');
  const far = (await sessions(endpoint)).find((x) => x.name === 'edge-1/main')!;
  const resent = far.channels.reduce((n, ch) => n + ch.retransmittedBytes, 0);
  t.comment(`endpoint resent ${resent} bytes`);
  t.ok(resent > 0, 'frames in flight on the dead path were sent again');
  const again = await c.get('/blob');
  t.equal(sha256(again.body), BLOB_SHA, 'traffic flows after the path returned');
});

t.test('path cut (reset) during an upload', async (t) => {
  const { relay, edge } = await pair(t);
  const c = client(t, edge);
  const pending = c.post('/hash-slowly', BLOB);
  const channelA = async () => (await sessions(edge))[0]!.channels.find((ch) => ch.name === 'a')!;
  await until(async () => (await channelA()).sentBytes > 256 * 1024, 5_000, 'upload under way on a');
  // Acks on loopback are back within a millisecond: stop the path first, so that frames sent
  // on it are certainly unacknowledged when its connections are reset (or, if the edge sees the
  // stall first, already sent again on b).
  relay.blackhole();
  const resentSoFar = async () => (await sessions(edge))[0]!.channels.reduce((n, ch) => n + ch.retransmittedBytes, 0);
  await until(async () => (await channelA()).inflightBytes > 0 || (await resentSoFar()) > 0, 5_000, 'frames unacknowledged on a');
  relay.cut();
  const up = await pending;
  t.equal(up.status, 200);
  t.same(JSON.parse(up.body.toString()), { sha256: BLOB_SHA, bytes: BLOB.length }, 'the origin got every byte in order');
  const [s] = await sessions(edge);
  const resent = s!.channels.reduce((n, ch) => n + ch.retransmittedBytes, 0);
  t.comment(`edge resent ${resent} bytes`);
  t.ok(resent > 0, 'frames in flight on the cut path were sent again');
  await until(async () => (await stateOf(edge, 'a')) !== 'up', 5_000, 'channel a not up');
  relay.restore();
  await until(async () => (await stateOf(edge, 'a')) === 'up', 10_000, 'channel a up again');
  t.pass('channel a back up');
});
