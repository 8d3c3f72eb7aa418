// One request to one upstream server through undici's low-level dispatch API. Bodies stream
// both ways and are never held whole: the request body is a Readable undici pulls from, and the
// response body goes chunk by chunk to the client, pausing undici's socket while the client's
// buffer is full (`res.write` said false) and resuming on 'drain'.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { WeaverError } from '../errors.ts';
import type { UpstreamServer } from './server.ts';
import { classifyUpstreamError } from './upstream-error.ts';

/** What both node's http.ServerResponse and http2's compat Http2ServerResponse offer. */
export interface ClientResponse {
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  readonly writableFinished: boolean;
  readonly statusCode: number;
  writeHead(status: number, headers: OutgoingHttpHeaders): unknown;
  write(chunk: Uint8Array): boolean;
  end(): unknown;
  end(chunk: Uint8Array): unknown;
  addTrailers(headers: OutgoingHttpHeaders): void;
  on(event: 'drain' | 'close' | 'finish', listener: () => void): unknown;
  once(event: 'close' | 'finish', listener: () => void): unknown;
  off(event: 'drain' | 'close' | 'finish', listener: () => void): unknown;
  destroy(error?: Error): unknown;
}

export interface ForwardRequest {
  readonly method: string;
  /** Origin-form path and query. */
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  /** null when the request has no body. */
  readonly body: Readable | null;
}

/** The request's owner: it decides what the client sees around the body we stream. */
export interface ExchangeObserver {
  /**
   * Response headers arrived after `durationMs`: returns the headers to send the client, or null
   * to drop this response (to retry elsewhere); `dropped` then follows.
   */
  head(status: number, headers: IncomingHttpHeaders, durationMs: number): OutgoingHttpHeaders | null;
  /** The exchange is over after `head` returned null; nothing reached the client. */
  dropped(): void;
  /** The body has been handed to the client in full. */
  done(bytes: number): void;
  /**
   * The exchange failed. Before the head the observer answers the client itself; after it the
   * response is already cut short here.
   */
  failed(error: WeaverError, headersSent: boolean, bytes: number): void;
}

/**
 * A dropped response's body is read and thrown away up to this many bytes, so its connection can
 * serve the next request; past it the connection is closed instead.
 */
const DROP_LIMIT = 64 * 1024;

export function forward(server: UpstreamServer, request: ForwardRequest, res: ClientResponse, observer: ExchangeObserver): void {
  const exchange = new Exchange(server, res, observer);
  server.dispatcher.dispatch(
    { path: request.path, method: request.method, headers: request.headers, body: request.body },
    exchange,
  );
}

class Exchange implements Dispatcher.DispatchHandler {
  private readonly server: UpstreamServer;
  private readonly res: ClientResponse;
  private readonly observer: ExchangeObserver;
  private readonly startedAt = performance.now();
  private controller: Dispatcher.DispatchController | undefined;
  /** Set when the client left before undici handed us a controller to abort with. */
  private pendingAbort: Error | undefined;
  private bytes = 0;
  private settled = false;
  /** Bytes of a dropped response read so far; -1 while the response is being relayed. */
  private dropping = -1;

  constructor(server: UpstreamServer, res: ClientResponse, observer: ExchangeObserver) {
    this.server = server;
    this.res = res;
    this.observer = observer;
    server.inflight++;
    server.requests++;
    res.on('drain', this.onDrain);
    res.on('close', this.onClientClose);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.pendingAbort) controller.abort(this.pendingAbort);
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    // 1xx: node already answered any Expect: 100-continue; the final response follows.
    if (status < 200) return;
    const ms = performance.now() - this.startedAt;
    this.server.recordLatency(ms);
    let out: OutgoingHttpHeaders | null;
    try {
      out = this.observer.head(status, headers, ms);
      if (out !== null) this.res.writeHead(status, out);
    } catch (err) {
      // A header node refuses to send (bad characters, h2-forbidden): nothing reached the client.
      controller.abort(new WeaverError('WEAVER_ERR_UPSTREAM', `bad upstream response head: ${(err as Error).message}`));
      return;
    }
    if (out !== null) return;
    this.dropping = 0;
    this.settle();
    this.observer.dropped();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.dropping >= 0) {
      this.dropping += chunk.length;
      if (this.dropping > DROP_LIMIT) controller.abort(new WeaverError('WEAVER_ERR_UPSTREAM', 'dropped response too large to drain'));
      return;
    }
    this.bytes += chunk.length;
    if (!this.res.write(chunk)) controller.pause();
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    if (!this.settle()) return;
    for (const _name in trailers) {
      this.res.addTrailers(trailers as OutgoingHttpHeaders);
      break;
    }
    this.res.end();
    this.observer.done(this.bytes);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (!this.settle()) return;
    const error = classifyUpstreamError(err, this.controller !== undefined);
    const headersSent = this.res.headersSent;
    if (headersSent) this.res.destroy(error);
    this.observer.failed(error, headersSent, this.bytes);
  }

  /** true the first time: the exchange ends exactly once, whichever way. */
  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.server.inflight--;
    this.res.off('drain', this.onDrain);
    this.res.off('close', this.onClientClose);
    return true;
  }

  private readonly onDrain = (): void => {
    this.controller?.resume();
  };

  private readonly onClientClose = (): void => {
    if (this.settled || this.res.writableFinished) return;
    const reason = new WeaverError('WEAVER_ERR_CLIENT_GONE', 'the client closed before the response was complete');
    if (this.controller) this.controller.abort(reason);
    else this.pendingAbort = reason;
  };
}
