// Before a target is measured: it must answer the origin's 1 KiB body over HTTP/1.1 (and HTTP/2
// when it speaks it), and must not resume TLS sessions, so the handshake test counts full
// handshakes only (h2load resumes whenever the server lets it).
import http2 from 'node:http2';
import tls from 'node:tls';
import { ORIGIN_BODY_BYTES } from './origin.ts';

const TIMEOUT_MS = 5_000;

/**
 * One HTTP/1.1 request with Connection: close over a new TLS connection. Resolves once the
 * whole body is in and the server has closed (the handshake test relies on that close); with
 * the last session ticket the connection got, to try resuming with.
 */
function h1Request(port: number, session?: Buffer): Promise<{ status: number; bodyBytes: number; reused: boolean; session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'], session });
    let last: Buffer | undefined;
    let data = Buffer.alloc(0);
    let complete = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(complete ? 'the server did not close the connection after answering "Connection: close"' : 'no complete answer within 5 s'));
    }, TIMEOUT_MS);
    socket.on('session', (s: Buffer) => (last = s));
    socket.once('secureConnect', () => socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'));
    socket.on('data', (c: Buffer) => {
      data = Buffer.concat([data, c]);
      complete ||= parse(data).complete;
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      const r = parse(data);
      resolve({ status: r.status, bodyBytes: r.bodyBytes, reused: socket.isSessionReused(), session: last });
    });
  });
}

/** Status and body length of an HTTP/1.1 response (content-length or chunked), and whether it is all there. */
function parse(data: Buffer): { status: number; bodyBytes: number; complete: boolean } {
  const text = data.toString('latin1');
  const head = text.indexOf('\r\n\r\n');
  if (head === -1) return { status: 0, bodyBytes: 0, complete: false };
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
  const headers = text.slice(0, head);
  const body = text.slice(head + 4);
  if (/\r\ntransfer-encoding: *chunked/i.test(headers)) {
    const d = dechunk(body);
    return { status, bodyBytes: d.bytes, complete: d.done };
  }
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(headers)?.[1] ?? NaN);
  return { status, bodyBytes: body.length, complete: body.length >= length };
}

function dechunk(body: string): { bytes: number; done: boolean } {
  let bytes = 0;
  let i = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', i);
    if (eol === -1) return { bytes, done: false };
    const size = parseInt(body.slice(i, eol), 16);
    if (!size) return { bytes, done: true };
    bytes += size;
    i = eol + 2 + size + 2;
  }
}

function h2Request(port: number): Promise<{ status: number; bodyBytes: number }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, servername: 'localhost' });
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error('no HTTP/2 answer within 5 s'));
    }, TIMEOUT_MS);
    session.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    const req = session.request({ ':path': '/', ':authority': 'localhost' });
    let status = 0;
    let bytes = 0;
    req.once('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.once('error', (err) => {
      clearTimeout(timer);
      session.destroy();
      reject(err);
    });
    req.once('end', () => {
      clearTimeout(timer);
      session.close();
      resolve({ status, bodyBytes: bytes });
    });
  });
}

/** Throws with what is wrong; resolves when the target serves and does not resume. */
export async function checkTarget(port: number, h2: boolean): Promise<void> {
  const first = await h1Request(port);
  if (first.status !== 200 || first.bodyBytes !== ORIGIN_BODY_BYTES) {
    throw new Error(`HTTP/1.1 GET / answered ${first.status} with ${first.bodyBytes} body bytes (want 200, ${ORIGIN_BODY_BYTES})`);
  }
  if (first.session) {
    const again = await h1Request(port, first.session);
    if (again.reused) throw new Error('the target resumed a TLS session: the handshake test would not count full handshakes');
  }
  if (h2) {
    const r = await h2Request(port);
    if (r.status !== 200 || r.bodyBytes !== ORIGIN_BODY_BYTES) throw new Error(`HTTP/2 GET / answered ${r.status} with ${r.bodyBytes} body bytes`);
  }
}
