// The client's request body on its two ways out: streamed to the upstream through a BodyLimit,
// or dropped after Weaver answered without reading all of it (413, 502, a plugin's answer).
import type { Http2ServerRequest } from 'node:http2';
import { constants as h2 } from 'node:http2';
import type { ClientResponse } from '../upstream/dispatch.ts';
import { upstreamBody, type BodyLimit } from './body-limit.ts';
import type { ClientRequest } from './pipeline.ts';

/** After a local answer to an unread body, how long the client gets to send the rest. */
const LINGER_MS = 2_000;

/** The body to stream upstream, null when the request has none. */
export function requestBody(req: ClientRequest, fromH2: boolean, max: number): BodyLimit | null {
  const length = req.headers['content-length'];
  const hasBody = fromH2
    ? !(req as Http2ServerRequest).stream.endAfterHeaders && length !== '0'
    : req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (!hasBody) return null;
  return upstreamBody(req, max);
}

/**
 * We answer before having read the whole body. HTTP/1.1: unhook undici's stream (now, not on
 * its 'close': unpipe pauses the source), then read and drop the rest so the client can finish
 * sending and read our answer on a connection that stays usable, but only for LINGER_MS after
 * the answer. HTTP/2: end just the stream with NO_ERROR once the answer is out (RFC 9113 §8.1).
 */
export function dropRest(req: ClientRequest, res: ClientResponse, body: BodyLimit | null, fromH2: boolean): void {
  if (body) {
    req.unpipe(body);
    body.destroy();
  }
  req.resume();
  res.once('finish', () => {
    if (req.complete) return;
    if (fromH2) {
      (req as Http2ServerRequest).stream.close(h2.NGHTTP2_NO_ERROR);
      return;
    }
    const timer = setTimeout(() => req.socket.destroy(), LINGER_MS);
    req.once('end', () => clearTimeout(timer));
    req.socket.once('close', () => clearTimeout(timer));
  });
}
