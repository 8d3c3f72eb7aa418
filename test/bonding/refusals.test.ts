// What the bonded pair refuses: an edge whose certificate the endpoint does not pin, an endpoint
// whose certificate the edge does not pin, a channel that tries to join a session with a proof
// it cannot have, a destination outside the endpoint's allow list (502), and a `via` whose
// transport no plugin registered (the config does not load).
import { connect as tlsConnect } from 'node:tls';
import { once } from 'node:events';
import t from 'tap';
import { request } from 'undici';
import { ALPN, joinProof } from '../../plugins/bonding-upstream/hello.ts';
import * as F from '../../plugins/bonding-upstream/frames.ts';
import { startWeaver } from '../support/weaver-harness.ts';
import { channelsUp, client, freePort, sessions, startEdge, startEndpoint, startOrigin, testCerts, until, twoListens } from './support.ts';

const origin = await startOrigin(t);
const other = await startOrigin(t);
const port = await freePort('127.0.0.2');
const endpoint = await startEndpoint(t, { listen: twoListens(port), allow: [`127.0.0.1:${origin.port}`] });
const certs = testCerts();
const channels = [
  { name: 'a', remote: `127.0.0.2:${port}` },
  { name: 'b', remote: `127.0.0.3:${port}` },
];

t.test('an edge certificate the endpoint does not pin is refused', async (t) => {
  const edge = await startEdge(t, { originPort: origin.port, channels, cert: certs.rogue });
  await endpoint.waitForLog((l) => l.msg === 'bonding channel refused: edge certificate not pinned', 5_000);
  const [s] = await sessions(edge);
  t.ok(s!.channels.every((c) => c.state !== 'up' && c.state !== 'degraded'), 'no channel comes up');
  t.notOk((await sessions(endpoint)).some((x) => x.name.endsWith('/main') && x.channels.some((c) => c.state === 'up')), 'the endpoint holds no live channel for it');
});

t.test('an endpoint certificate the edge does not pin is refused', async (t) => {
  const edge = await startEdge(t, { originPort: origin.port, channels, pinCert: certs.rogue });
  await edge.waitForLog((l) => l.msg === 'endpoint certificate is not pinned: channel refused', 5_000);
  const [s] = await sessions(edge);
  t.ok(s!.channels.every((c) => c.state !== 'up'), 'no channel comes up');
});

t.test('a channel cannot join a session it does not belong to', async (t) => {
  const edge = await startEdge(t, { originPort: origin.port, channels });
  await channelsUp(edge, 2);
  const [s] = await sessions(edge);
  const id = (s as unknown as { id: string }).id;
  // The right certificate and the right session id, but not the session's secret.
  const socket = tlsConnect({ host: '127.0.0.2', port, cert: certs.edge.cert, key: certs.edge.key, ALPNProtocols: [ALPN], rejectUnauthorized: false, minVersion: 'TLSv1.3' });
  t.teardown(() => socket.destroy());
  await once(socket, 'secureConnect');
  const proof = joinProof(Buffer.alloc(32, 7), socket);
  socket.write(F.jsonFrame(F.T.HELLO, { v: 1, op: 'join', session: id, name: 'main', channel: 'intruder', proof }));
  const reader = new F.FrameReader(4096);
  const answer = await new Promise<F.InFrame>((resolve) => socket.on('data', (c: Buffer) => reader.push(c, resolve)));
  t.equal(answer.type, F.T.REFUSE, 'refused');
  t.equal(F.parseJson(answer.body).code, 'join_refused');
  await once(socket, 'close');
  t.pass('and disconnected');
  const far = (await sessions(endpoint)).find((x) => x.name === 'edge-1/main')!;
  t.notOk(far.channels.some((c) => c.name === 'intruder'), 'the session has no such channel');
  // Creating a session under an id already in use is refused too.
  const again = tlsConnect({ host: '127.0.0.3', port, cert: certs.edge.cert, key: certs.edge.key, ALPNProtocols: [ALPN], rejectUnauthorized: false });
  t.teardown(() => again.destroy());
  await once(again, 'secureConnect');
  again.write(F.jsonFrame(F.T.HELLO, { v: 1, op: 'create', session: id, name: 'main', channel: 'x', secret: Buffer.alloc(32).toString('base64'), policy: {} }));
  const r2 = new F.FrameReader(4096);
  const a2 = await new Promise<F.InFrame>((resolve) => again.on('data', (c: Buffer) => r2.push(c, resolve)));
  t.equal(a2.type, F.T.REFUSE);
  t.equal(F.parseJson(a2.body).code, 'session_exists');
  const ok = await client(t, edge).get('/');
  t.equal(ok.status, 200, 'the real session still serves');
});

t.test('a destination outside the allow list gets 502', async (t) => {
  const edge = await startEdge(t, { originPort: other.port, channels });
  await channelsUp(edge, 2);
  const res = await client(t, edge).get('/');
  t.equal(res.status, 502);
  await endpoint.waitForLog((l) => l.msg === 'stream refused: destination not allowed' && l.port === other.port, 2_000);
  t.pass('the endpoint logged the refusal');
  await until(async () => (await sessions(edge))[0]!.streams === 0, 2_000, 'no stream left open');
  const m = await (await request(`http://127.0.0.1:${endpoint.adminPort}/metrics`)).body.text();
  t.match(m, /weaver_bonding_upstream_streams_refused_total\{session="edge-1\/main",reason="not_allowed"\} [1-9]/);
});

t.test('no channel up: the connect times out (504) and leaves no stream behind', async (t) => {
  const nowhere = await freePort('127.0.0.6');
  const edge = await startEdge(t, {
    originPort: origin.port,
    channels: [{ name: 'a', remote: `127.0.0.6:${nowhere}` }],
    upstreamExtra: '    connectTimeoutMs: 300',
  });
  const res = await client(t, edge).get('/');
  t.equal(res.status, 504);
  await until(async () => (await sessions(edge))[0]!.streams === 0, 2_000, 'the abandoned stream is gone');
  t.pass('the session dropped the stream the pool gave up on');
});

t.test('a via whose transport no plugin registered does not load', async (t) => {
  await t.rejects(
    startWeaver(`
listeners: [{ name: https, port: 0 }]
handshakePools: { primary: { kind: local, certificates: [{ cert: ${certs.edge.certFile}, key: ${certs.edge.keyFile} }] } }
routes: [{ match: { pathPrefix: / }, upstream: o }]
upstreams: { o: { servers: [{ url: "http://127.0.0.1:1", via: "tunnel:x" }] } }
admin: { enabled: false }
`),
    { code: 'WEAVER_ERR_UPSTREAM_TRANSPORT', message: /upstreams\.o: via "tunnel:x"/ },
  );
});
