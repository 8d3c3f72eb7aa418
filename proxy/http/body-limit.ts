// The stream undici reads a request body from. It sits between the client's request and undici
// for two reasons: it counts bytes and fails on the first one past `http.maxBodyBytes` (a
// chunked or HTTP/2 body has no length to check up front, and holding the body to measure it
// would defeat streaming), and it takes the destroy() undici does to a body when an exchange
// fails. Destroying node's request itself would take the client's socket (HTTP/1.1) or stream
// (HTTP/2) with it, and with them the 502/504/413 we still owe the client.
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { WeaverError } from '../errors.ts';

export class BodyLimit extends Transform {
  private readonly limit: number;
  private seen = 0;

  /** `limit` 0 counts nothing and never fails. */
  constructor(limit: number) {
    super();
    this.limit = limit > 0 ? limit : Infinity;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      done(new WeaverError('WEAVER_ERR_BODY_TOO_LARGE', `request body exceeds ${this.limit} bytes`));
      return;
    }
    done(null, chunk);
  }
}

/** `source` piped through a BodyLimit; when the limit trips or undici lets go, the source is unpiped, never destroyed. */
export function upstreamBody(source: Readable, limit: number): BodyLimit {
  const limited = new BodyLimit(limit);
  source.on('error', (err) => limited.destroy(err));
  limited.on('close', () => source.unpipe(limited));
  source.pipe(limited);
  return limited;
}
