// A request body sent through the edge to the origin's /upload, which answers with the SHA-256
// it received: the edge → endpoint direction of a bonded session.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { request, type Agent } from 'undici';

export async function upload(edgeUrl: string, bytes: number, dispatcher: Agent): Promise<{ sent: { bytes: number; sha256: string }; got: unknown }> {
  const block = randomBytes(1 << 20);
  const hash = createHash('sha256');
  function* chunks() {
    for (let left = bytes; left > 0; left -= block.length) {
      // Each MiB differs from the last, so a misplaced frame changes the hash.
      block.writeUInt32BE(left, 0);
      const chunk = Buffer.from(block.subarray(0, Math.min(left, block.length)));
      hash.update(chunk);
      yield chunk;
    }
  }
  const res = await request(`${edgeUrl}/upload`, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes) },
    body: Readable.from(chunks()),
  });
  const got = res.statusCode === 200 ? await res.body.json() : { status: res.statusCode, body: await res.body.text() };
  return { sent: { bytes, sha256: hash.digest('hex') }, got };
}
