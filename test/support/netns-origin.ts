// The origin behind a bed's endpoint, in the test process (root namespace), plus the client
// that fetches through the edge. Bodies are an AES-256-CTR keystream: every byte differs from
// its neighbours' frames, so a frame delivered out of order or twice changes the SHA-256, and
// both sides can produce the same bytes without keeping them.
//
//   GET  /blob?bytes=N     N bytes of the keystream, streamed with backpressure
//   POST /upload           {"bytes","sha256"} of the request body
import { createCipheriv, createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';

const KEY = Buffer.alloc(32, 7);
const IV = Buffer.alloc(16, 0);
const CHUNK = 64 << 10;
const zeros = Buffer.alloc(CHUNK);

/** Calls `each` with the first `bytes` bytes of the keystream, chunk by chunk (awaiting it). */
async function keystream(bytes: number, each: (chunk: Buffer) => unknown): Promise<void> {
  const cipher = createCipheriv('aes-256-ctr', KEY, IV);
  for (let left = bytes; left > 0; left -= CHUNK) await each(cipher.update(left >= CHUNK ? zeros : zeros.subarray(0, left)));
}

/** SHA-256 of the body `GET /blob?bytes=N` serves. */
export async function blobSha256(bytes: number): Promise<string> {
  const hash = createHash('sha256');
  await keystream(bytes, (c) => hash.update(c));
  return hash.digest('hex');
}

export interface BlobOrigin {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startBlobOrigin(host: string): Promise<BlobOrigin> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://origin');
    if (req.method === 'GET' && url.pathname === '/blob') {
      const bytes = Number(url.searchParams.get('bytes'));
      if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > 2 ** 32) return void res.writeHead(400).end('bad bytes');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes });
      const drained = () => new Promise((resolve) => res.once('drain', resolve));
      keystream(bytes, (c) => (res.write(c) ? undefined : drained())).then(() => res.end(), () => res.destroy());
      return;
    }
    if (req.method === 'POST' && url.pathname === '/upload') {
      const hash = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
        hash.update(c);
      });
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes: n, sha256: hash.digest('hex') })));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    host,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export interface Fetched {
  status: number;
  bytes: number;
  sha256: string;
  ms: number;
  /** Longest time between two body chunks once the body had started (a failover's stall). */
  maxGapMs: number;
  mbit: number;
}

/** A client that trusts the edge's dev certificate; one per test. */
export function edgeAgent(bodyTimeoutMs = 30_000): Agent {
  return new Agent({ connect: { rejectUnauthorized: false }, bodyTimeout: bodyTimeoutMs, headersTimeout: 30_000 });
}

/** Fetches `/blob?bytes=N` through the edge and hashes the body as it streams. */
export async function fetchBlob(edgeUrl: string, bytes: number, dispatcher: Agent): Promise<Fetched> {
  const started = performance.now();
  const res = await request(`${edgeUrl}/blob?bytes=${bytes}`, { dispatcher });
  const hash = createHash('sha256');
  let n = 0;
  let first = 0;
  let last = 0;
  let maxGapMs = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    const now = performance.now();
    if (n === 0) first = now;
    else maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    n += chunk.length;
    hash.update(chunk);
  }
  const bodyMs = last - first;
  return {
    status: res.statusCode,
    bytes: n,
    sha256: hash.digest('hex'),
    ms: performance.now() - started,
    maxGapMs,
    mbit: bodyMs > 0 ? (n * 8) / bodyMs / 1000 : 0,
  };
}
