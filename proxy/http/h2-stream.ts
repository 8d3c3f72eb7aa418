// One HTTP/2 stream seen the way the pipeline sees an HTTP/1.1 exchange: a request head and a
// response with writeHead/write/end. node's compat API (Http2ServerRequest/Response) does the
// same, but wraps every stream in two more stream objects with a dozen listeners between them;
// this is the thin part of it the pipeline uses, straight on the ServerHttp2Stream.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { ClientResponse } from '../upstream/dispatch.ts';
import { endToEnd } from './hop-by-hop.ts';

/** The head of a request; its body is `stream` itself. */
export class H2Request {
  readonly httpVersion = '2.0';
  readonly httpVersionMajor = 2;
  readonly stream: ServerHttp2Stream;
  readonly method: string;
  readonly url: string;
  /** Pseudo-headers included, as the compat API gives them. */
  readonly headers: IncomingHttpHeaders;
  /** `[name, value, name, value…]` as received. */
  readonly rawHeaders: string[];

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]) {
    this.stream = stream;
    this.headers = headers;
    this.rawHeaders = rawHeaders;
    this.method = headers[':method'] as string;
    this.url = (headers[':path'] as string | undefined) ?? '';
  }

  /** The client has sent all of its body (or left). */
  get complete(): boolean {
    const s = this.stream;
    return s.endAfterHeaders || s.readableEnded || s.destroyed;
  }
}

/**
 * Unread errors on a stream would be thrown: what went wrong is told by 'close' and by the
 * exchange's own failure path, as the compat API does.
 */
function ignore(): void {}

export class H2Response implements ClientResponse {
  statusCode = 200;
  headersSent = false;
  private readonly stream: ServerHttp2Stream;
  private trailers: OutgoingHttpHeaders | undefined;

  constructor(stream: ServerHttp2Stream) {
    this.stream = stream;
    stream.on('error', ignore);
  }

  get writableEnded(): boolean {
    return this.stream.writableEnded;
  }

  get writableFinished(): boolean {
    return this.stream.writableFinished;
  }

  /**
   * Takes `headers` as its own (adds :status). Throws like node does for a head h2 cannot carry
   * (bad status, a connection-specific field). The stream always waits for trailers, as the
   * compat API's does: ending a stream without them (node's `_final`) left the last frame
   * waiting for the next write on the session, up to ~40 ms a response, in our tests.
   */
  writeHead(status: number, headers: OutgoingHttpHeaders): this {
    if (this.stream.destroyed || this.stream.closed) return this;
    headers[':status'] = status;
    this.stream.respond(headers, { waitForTrailers: true });
    // Emitted once per stream: `on` spares the wrapper `once` makes.
    this.stream.on('wantTrailers', () => this.sendTrailers());
    this.statusCode = status;
    this.headersSent = true;
    return this;
  }

  write(chunk: Uint8Array): boolean {
    // HEAD, 204 and 304: node ended the stream with the head; the body goes nowhere.
    if (this.stream.writableEnded) return true;
    return this.stream.write(chunk);
  }

  end(chunk?: Uint8Array): this {
    if (!this.headersSent) this.writeHead(this.statusCode, {});
    if (this.stream.writableEnded) return this;
    if (chunk === undefined || chunk.length === 0) this.stream.end();
    else this.stream.end(chunk);
    return this;
  }

  /** Connection-specific fields, which h2 forbids in trailers too, are left out. */
  addTrailers(headers: OutgoingHttpHeaders): void {
    this.trailers = endToEnd(headers);
  }

  private sendTrailers(): void {
    try {
      this.stream.sendTrailers(this.trailers ?? {});
    } catch {
      // A field node refuses: the response cannot end cleanly, so the client must not take it as whole.
      this.stream.destroy();
    }
  }

  on(event: 'drain' | 'close' | 'finish', listener: () => void): this {
    this.stream.on(event, listener);
    return this;
  }

  once(event: 'close' | 'finish', listener: () => void): this {
    this.stream.once(event, listener);
    return this;
  }

  off(event: 'drain' | 'close' | 'finish', listener: () => void): this {
    this.stream.off(event, listener);
    return this;
  }

  destroy(error?: Error): this {
    this.stream.destroy(error);
    return this;
  }
}
