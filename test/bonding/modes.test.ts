// HTTP through edge → bonded session (two channels on their own loopback addresses) → endpoint
// → origin, in each bonding mode: an 8 MiB download and an 8 MiB upload arrive intact, and in
// active-active both channels carry a real share of the bytes.
import t from 'tap';
import { BLOB, BLOB_SHA, channelsUp, client, freePort, sessions, sha256, startEdge, startEndpoint, startOrigin } from './support.ts';

const origin = await startOrigin(t);
const port = await freePort('127.0.0.2');
await startEndpoint(t, { listen: [`127.0.0.2:${port}`, `127.0.0.3:${port}`], allow: [`127.0.0.1:${origin.port}`] });

for (const mode of ['active-active', 'active-standby', 'weighted'] as const) {
  await t.test(mode, async (t) => {
    const edge = await startEdge(t, {
      mode,
      originPort: origin.port,
      channels: [
        { name: 'a', local: '127.0.0.1', remote: `127.0.0.2:${port}`, weight: 3 },
        { name: 'b', local: '127.0.0.1', remote: `127.0.0.3:${port}`, weight: 1 },
      ],
    });
    await channelsUp(edge, 2);
    const c = client(t, edge);
    const down = await c.get('/blob');
    t.equal(down.status, 200);
    t.equal(down.body.length, BLOB.length, 'download length');
    t.equal(sha256(down.body), BLOB_SHA, 'download SHA-256');
    const up = await c.post('/hash', BLOB);
    t.equal(up.status, 200);
    t.same(JSON.parse(up.body.toString()), { sha256: BLOB_SHA, bytes: BLOB.length }, 'upload SHA-256 at the origin');
    const [s] = await sessions(edge);
    t.equal(s!.mode, mode);
    const sent = Object.fromEntries(s!.channels.map((ch) => [ch.name, ch.sentBytes]));
    const received = Object.fromEntries(s!.channels.map((ch) => [ch.name, ch.receivedBytes]));
    t.comment(`${mode}: sent ${JSON.stringify(sent)} received ${JSON.stringify(received)}`);
    if (mode === 'active-standby') {
      t.ok(sent.b! < 1_000_000 && received.b! < 1_000_000, 'the standby carries only probes and acks');
    } else {
      t.ok(sent.a! > 1_000_000 && sent.b! > 1_000_000, 'both channels carry the upload');
      t.ok(received.a! > 1_000_000 && received.b! > 1_000_000, 'both channels carry the download');
    }
    if (mode === 'weighted') t.ok(sent.a! > 1.8 * sent.b!, 'weight 3:1 gives a the bigger share');
  });
}
