// The client's request body on its two ways out: streamed to the upstream through a BodyLimit,
// or dropped after Weaver answered without reading all of it (413, 502, a plugin's answer).
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { ClientResponse } from '../upstream/dispatch.ts';
import { upstreamBody, type BodyLimit } from './body-limit.ts';
import type { H2Request } from './h2-stream.ts';
import type { ClientRequest } from './pipeline.ts';

/** After a local answer to an unread body, how long the client gets to send the rest. */
const LINGER_MS = 2_000;

/** The body to stream upstream, null when the request has none. */
export function requestBody(req: ClientRequest, fromH2: boolean, max: number): BodyLimit | null {
  const length = req.headers['content-length'];
  const hasBody = fromH2
    ? !(req as H2Request).stream.endAfterHeaders && length !== '0'
    : req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (!hasBody) return null;
  return upstreamBody(bodyOf(req), max);
}

/**
 * We answer before having read the whole body. HTTP/1.1: unhook undici's stream (now, not on
 * its 'close': unpipe pauses the source), then read and drop the rest so the client can finish
 * sending and read our answer on a connection that stays usable, but only for LINGER_MS after
 * the answer. HTTP/2: the rest is read and dropped too; the stream ends when the client has
 * sent it, or at the request timeout. (Resetting the stream with NO_ERROR once the answer is
 * written, as RFC 9113 §8.1 allows, is not safe with node: nghttp2 sends the RST_STREAM ahead of
 * answer data it still queues, and the client loses the answer.)
 */
export function dropRest(req: ClientRequest, res: ClientResponse, body: BodyLimit | null, fromH2: boolean): void {
  const source = bodyOf(req);
  if (body) {
    source.unpipe(body);
    body.destroy();
  }
  source.resume();
  if (fromH2) return;
  const h1 = req as IncomingMessage;
  res.once('finish', () => {
    if (h1.complete) return;
    const timer = setTimeout(() => h1.socket.destroy(), LINGER_MS);
    h1.once('end', () => clearTimeout(timer));
    h1.socket.once('close', () => clearTimeout(timer));
  });
}

/** An HTTP/2 request's body is its stream; an HTTP/1.1 one's is the request itself. */
function bodyOf(req: ClientRequest): Readable {
  return req.httpVersionMajor === 2 ? (req as H2Request).stream : (req as IncomingMessage);
}
