// The admin API and metrics at run time: the mode, the weights and a channel's drain change on
// the edge and the endpoint follows (both directions bond the same way); many requests over
// kept-alive bonded streams; per-channel Prometheus metrics.
import t from 'tap';
import { request } from 'undici';
import { BLOB_SHA, admin, channelsUp, client, freePort, sessions, sha256, startEdge, startEndpoint, startOrigin, type SessionView, twoChannels, twoListens } from './support.ts';

const origin = await startOrigin(t);
const port = await freePort('127.0.0.2');
const endpoint = await startEndpoint(t, { listen: twoListens(port), allow: [`127.0.0.1:${origin.port}`] });
const edge = await startEdge(t, {
  originPort: origin.port,
  channels: twoChannels(port),
});
await channelsUp(edge, 2);
const c = client(t, edge);

const far = async (): Promise<SessionView> => (await sessions(endpoint)).find((x) => x.name === 'edge-1/main')!;
const sentBy = (s: SessionView) => Object.fromEntries(s.channels.map((ch) => [ch.name, ch.sentBytes]));

/** Bytes each endpoint channel sent during one 8 MiB download. */
async function download(): Promise<Record<string, number>> {
  const before = sentBy(await far());
  const r = await c.get('/blob');
  if (sha256(r.body) !== BLOB_SHA) throw new Error('body corrupted');
  const after = sentBy(await far());
  return Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - (before[k] ?? 0)]));
}

t.test('mode change reaches the endpoint', async (t) => {
  const bad = await admin(edge, '/sessions/main/mode', { mode: 'fastest' });
  t.equal(bad.status, 400);
  const ok = await admin<{ mode: string }>(edge, '/sessions/main/mode', { mode: 'active-standby' });
  t.equal(ok.status, 200);
  t.equal(ok.body.mode, 'active-standby');
  await new Promise((r) => setTimeout(r, 100));
  t.equal((await far()).mode, 'active-standby', 'the endpoint follows');
  const d = await download();
  t.comment(`active-standby download by channel: ${JSON.stringify(d)}`);
  t.ok(d.b! < 100_000, 'the standby carries no download');
  await admin(edge, '/sessions/main/mode', { mode: 'active-active' });
});

t.test('weights', async (t) => {
  await admin(edge, '/sessions/main/mode', { mode: 'weighted' });
  const w = await admin<{ channels: Array<{ name: string; weight: number }> }>(edge, '/sessions/main/weights', { weights: { a: 1, b: 4 } });
  t.equal(w.status, 200);
  t.same(w.body.channels.map((ch) => ch.weight), [1, 4]);
  t.equal((await admin(edge, '/sessions/main/weights', { weights: { zz: 1 } })).status, 400, 'unknown channel');
  await new Promise((r) => setTimeout(r, 100));
  const d = await download();
  t.comment(`weighted 1:4 download by channel: ${JSON.stringify(d)}`);
  t.ok(d.b! > 2.5 * d.a!, 'b carries about four times what a does');
  const auto = await admin<{ autoWeights: boolean }>(edge, '/sessions/main/weights', { auto: true });
  t.ok(auto.body.autoWeights);
  t.equal(sha256((await c.get('/blob')).body), BLOB_SHA, 'auto weights carry traffic');
  await admin(edge, '/sessions/main/mode', { mode: 'active-active' });
});

t.test('drain and restore a channel', async (t) => {
  const drained = await admin<{ channels: Array<{ name: string; draining: boolean }> }>(edge, '/sessions/main/channels/a/drain', {});
  t.equal(drained.status, 200);
  t.ok(drained.body.channels.find((ch) => ch.name === 'a')!.draining);
  await new Promise((r) => setTimeout(r, 100));
  const d = await download();
  t.comment(`download with a drained: ${JSON.stringify(d)}`);
  t.ok(d.a! < 100_000, 'a drained channel carries no new data');
  await admin(edge, '/sessions/main/channels/a/restore', {});
  await new Promise((r) => setTimeout(r, 100));
  const d2 = await download();
  t.ok(d2.a! > 1_000_000, 'restored, it carries its share again');
});

t.test('kept-alive and concurrent requests over bonded streams', async (t) => {
  for (let i = 0; i < 30; i++) t.equal((await c.get('/')).body.toString(), 'ok');
  const many = await Promise.all(Array.from({ length: 40 }, () => c.get('/')));
  t.ok(many.every((r) => r.status === 200 && r.body.toString() === 'ok'), '40 concurrent requests');
  const [s] = await sessions(edge);
  t.ok(s!.streams <= 8, `streams stay within the pool's connections (${s!.streams})`);
});

t.test('metrics per channel', async (t) => {
  await new Promise((r) => setTimeout(r, 1100));
  const m = await (await request(`http://127.0.0.1:${edge.adminPort}/metrics`)).body.text();
  t.match(m, /weaver_bonding_upstream_channel_state\{role="edge",session="main",channel="a"\} 2/);
  t.match(m, /weaver_bonding_upstream_channel_rtt_seconds\{role="edge",session="main",channel="b"\} \d/);
  t.match(m, /weaver_bonding_upstream_channel_sent_bytes_total\{role="edge",session="main",channel="a"\} [1-9]/);
  t.match(m, /weaver_bonding_upstream_session_streams\{role="edge",session="main"\} \d/);
});
