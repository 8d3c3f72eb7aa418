// Turns what undici (or the socket under it) failed with into one of our stable codes, so the
// client's status, the metric label and the log line agree on what went wrong.
import { WeaverError } from '../errors.ts';

export type UpstreamErrorCode =
  | 'WEAVER_ERR_UPSTREAM_CONNECT'
  | 'WEAVER_ERR_UPSTREAM_CONNECT_TIMEOUT'
  | 'WEAVER_ERR_UPSTREAM_TIMEOUT'
  | 'WEAVER_ERR_UPSTREAM_BODY_TIMEOUT'
  | 'WEAVER_ERR_UPSTREAM';

export class UpstreamError extends WeaverError {
  declare readonly code: UpstreamErrorCode;
  constructor(code: UpstreamErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'UpstreamError';
  }
}

const BY_UNDICI_CODE: Readonly<Record<string, UpstreamErrorCode>> = {
  UND_ERR_CONNECT_TIMEOUT: 'WEAVER_ERR_UPSTREAM_CONNECT_TIMEOUT',
  UND_ERR_HEADERS_TIMEOUT: 'WEAVER_ERR_UPSTREAM_TIMEOUT',
  UND_ERR_BODY_TIMEOUT: 'WEAVER_ERR_UPSTREAM_BODY_TIMEOUT',
  ECONNREFUSED: 'WEAVER_ERR_UPSTREAM_CONNECT',
  EHOSTUNREACH: 'WEAVER_ERR_UPSTREAM_CONNECT',
  ENETUNREACH: 'WEAVER_ERR_UPSTREAM_CONNECT',
  ENOTFOUND: 'WEAVER_ERR_UPSTREAM_CONNECT',
  EAI_AGAIN: 'WEAVER_ERR_UPSTREAM_CONNECT',
};

/**
 * `connected` says whether undici had a socket for the request (it calls onRequestStart only
 * then): anything failing before that is a failure to reach the server (refused, unreachable,
 * TLS), anything after is a broken exchange. Errors we raised ourselves keep their code.
 */
export function classifyUpstreamError(err: unknown, connected: boolean): WeaverError {
  if (err instanceof WeaverError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const known = typeof code === 'string' ? BY_UNDICI_CODE[code] : undefined;
  if (known) return new UpstreamError(known, message, { cause: err });
  if (!connected && code !== 'UND_ERR_INVALID_ARG') {
    return new UpstreamError('WEAVER_ERR_UPSTREAM_CONNECT', message, { cause: err });
  }
  return new UpstreamError('WEAVER_ERR_UPSTREAM', message, { cause: err });
}
