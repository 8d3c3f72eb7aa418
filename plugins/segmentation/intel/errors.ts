import { WeaverError } from 'weaver';

export type IntelErrorCode =
  | 'WEAVER_ERR_INTEL_FORMAT' // the format cannot be told, or no line of the file is usable
  | 'WEAVER_ERR_INTEL_TOO_LARGE' // over the byte or line bound
  | 'WEAVER_ERR_INTEL_FETCH' // file unreadable, HTTP error or timeout
  | 'WEAVER_ERR_INTEL_URL' // not http(s), or not loopback while remote URLs are not allowed
  | 'WEAVER_ERR_INTEL_CONFIG'; // a feed without exactly one of path / url, or a duplicate name

export class IntelError extends WeaverError {
  constructor(code: IntelErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'IntelError';
  }
}
