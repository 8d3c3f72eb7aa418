// A client that stops reading a large download: credit stops at the edge's window, so what the
// edge session holds for the stream stays under its configured window (and the endpoint's under
// its send queue + that window), instead of the whole body piling up. Then the client reads on and
// gets every byte intact.
import t from 'tap';
import { request } from 'undici';
import { BLOB, BLOB_SHA, channelsUp, client, freePort, sessions, sha256, startEdge, startEndpoint, startOrigin, twoChannels, twoListens } from './support.ts';

const WINDOW = 262_144;
const origin = await startOrigin(t);
const port = await freePort('127.0.0.2');
const endpoint = await startEndpoint(t, { listen: twoListens(port), allow: [`127.0.0.1:${origin.port}`] });
const edge = await startEdge(t, {
  originPort: origin.port,
  sessionExtra: `            streamWindowBytes: ${WINDOW}\n            sessionWindowBytes: ${4 * WINDOW}`,
  channels: twoChannels(port),
});
await channelsUp(edge, 2);

t.test('a client that stops reading', async (t) => {
  const c = client(t, edge);
  const res = await request(`https://127.0.0.1:${edge.port}/blob`, { dispatcher: c.agent, highWaterMark: 16_384 } as never);
  const body = res.body as unknown as NodeJS.ReadableStream & AsyncIterable<Buffer>;
  const parts: Buffer[] = [];
  const it = body[Symbol.asyncIterator]();
  let got = 0;
  while (got < 256 * 1024) {
    const n = await it.next();
    parts.push(n.value as Buffer);
    got += (n.value as Buffer).length;
  }
  // The client stops reading. Sample what each side holds while it waits.
  let edgePeak = 0;
  let endpointPeak = 0;
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const [s] = await sessions(edge);
    edgePeak = Math.max(edgePeak, s!.receiveBufferedBytes);
    const far = (await sessions(endpoint)).find((x) => x.name === 'edge-1/main')!;
    endpointPeak = Math.max(endpointPeak, far.bufferedBytes);
  }
  t.comment(`edge receive buffer peak ${edgePeak} B (window ${WINDOW}); endpoint peak ${endpointPeak} B`);
  t.ok(edgePeak > 0, 'the edge holds some of the body');
  t.ok(edgePeak <= WINDOW, 'the edge holds no more than the stream window');
  // Its send queue (256 KiB + what the Writable and one socket read add) plus the edge's window.
  t.ok(endpointPeak < 1024 * 1024, 'the endpoint holds a bounded share, not the body');
  for (let n = await it.next(); !n.done; n = await it.next()) parts.push(n.value as Buffer);
  const all = Buffer.concat(parts);
  t.equal(all.length, BLOB.length);
  t.equal(sha256(all), BLOB_SHA, 'the body arrives intact once the client reads on');
});
