// Every response Weaver makes itself, as opposed to relaying one, is a small JSON document with
// a stable code and the request id, also in the x-request-id header, so a user's report can be
// matched to our log line and the upstream's.
import { STATUS_CODES, type OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { UpstreamErrorCode } from '../upstream/upstream-error.ts';

export type ProxyErrorCode =
  | UpstreamErrorCode
  | 'WEAVER_ERR_BAD_REQUEST'
  | 'WEAVER_ERR_NO_ROUTE'
  | 'WEAVER_ERR_BODY_TOO_LARGE'
  | 'WEAVER_ERR_HEADERS_TOO_LARGE'
  | 'WEAVER_ERR_REQUEST_TIMEOUT'
  | 'WEAVER_ERR_REJECTED'
  | 'WEAVER_ERR_NO_UPSTREAM'
  | 'WEAVER_ERR_NO_HEALTHY_UPSTREAM'
  | 'WEAVER_ERR_SHUTTING_DOWN'
  | 'WEAVER_ERR_INTERNAL';

const DEFAULTS: Readonly<Record<ProxyErrorCode, readonly [status: number, message: string]>> = {
  WEAVER_ERR_BAD_REQUEST: [400, 'bad request'],
  WEAVER_ERR_NO_ROUTE: [404, 'no route for this host and path'],
  WEAVER_ERR_BODY_TOO_LARGE: [413, 'request body too large'],
  WEAVER_ERR_HEADERS_TOO_LARGE: [431, 'request header fields too large'],
  WEAVER_ERR_REQUEST_TIMEOUT: [408, 'request not received in time'],
  WEAVER_ERR_REJECTED: [403, 'request rejected'],
  WEAVER_ERR_NO_UPSTREAM: [503, 'no upstream server available'],
  WEAVER_ERR_NO_HEALTHY_UPSTREAM: [503, 'no healthy upstream server'],
  WEAVER_ERR_SHUTTING_DOWN: [503, 'shutting down'],
  WEAVER_ERR_INTERNAL: [500, 'internal error'],
  WEAVER_ERR_UPSTREAM_CONNECT: [502, 'upstream server unreachable'],
  WEAVER_ERR_UPSTREAM_CONNECT_TIMEOUT: [504, 'upstream connect timed out'],
  WEAVER_ERR_UPSTREAM_TIMEOUT: [504, 'upstream response timed out'],
  WEAVER_ERR_UPSTREAM_BODY_TIMEOUT: [504, 'upstream body timed out'],
  WEAVER_ERR_UPSTREAM: [502, 'bad response from upstream'],
};

export function isProxyErrorCode(code: string): code is ProxyErrorCode {
  return Object.hasOwn(DEFAULTS, code);
}

export interface ErrorReply {
  readonly status: number;
  readonly headers: OutgoingHttpHeaders;
  readonly body: Buffer;
}

/** `status` overrides the code's usual one (a plugin's reject may choose, e.g. 429). */
export function errorReply(code: ProxyErrorCode, requestId: string, status?: number): ErrorReply {
  const [usual, message] = DEFAULTS[code];
  const body = Buffer.from(JSON.stringify({ error: message, code, requestId }));
  return {
    status: status ?? usual,
    headers: {
      'content-type': 'application/json',
      'content-length': body.length,
      'cache-control': 'no-store',
      'x-request-id': requestId,
    },
    body,
  };
}

/**
 * A whole response on a socket node's HTTP server no longer parses: a failed parse or an
 * upgrade request. The connection ends with it, since nothing says where the next request
 * would start.
 */
export function writeRawResponse(socket: Duplex, status: number, headers: OutgoingHttpHeaders, body: Uint8Array): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (const name in headers) {
    if (name === 'connection' || name === 'content-length') continue;
    const value = headers[name];
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${String(v).replace(/[\r\n]/g, '')}\r\n`;
  }
  head += `content-length: ${body.length}\r\nconnection: close\r\n\r\n`;
  socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
}
