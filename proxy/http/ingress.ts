// HTTP on a connection whose TLS the listener has already terminated: the socket goes to the
// HTTP/2 server when ALPN chose h2 and to the HTTP/1.1 one otherwise; both feed one request
// pipeline. The ingress also owns the two ways of ending: retire (a reload replaced it: serve
// what comes on open connections but end keep-alive) and close (stop: no new requests on open
// connections, in-flight ones run until a deadline, then everything left is destroyed).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { constants as h2constants, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { HttpConfig, RouteConfig } from '../config/schema.ts';
import { nextId, type Connection } from '../connection.ts';
import type { HookRunner } from '../hooks/runner.ts';
import type { CoreMetrics } from '../metrics.ts';
import type { UpstreamRegistry } from '../upstream/registry.ts';
import { errorReply, writeRawResponse, type ProxyErrorCode } from './error-response.ts';
import { FirstByteWait } from './first-byte.ts';
import { createH1Server } from './h1-server.ts';
import { createH2Server, limitSession, type SessionState } from './h2-server.ts';
import { H2Request, H2Response } from './h2-stream.ts';
import { RequestPipeline } from './pipeline.ts';
import { Router } from './routes.ts';

export interface HttpIngressOptions {
  readonly http: HttpConfig;
  readonly routes: readonly RouteConfig[];
  readonly upstreams: UpstreamRegistry;
  readonly hooks: HookRunner;
  readonly log: Logger;
  readonly accessLog: boolean;
  readonly metrics: CoreMetrics;
}

export interface HttpIngress {
  /** Serve HTTP on a socket whose TLS handshake is done; ALPN picks the protocol. */
  serve(socket: TLSSocket, conn: Connection): void;
  /** New routes and upstreams for requests that start from now on. The caller closes the old registry. */
  update(routes: readonly RouteConfig[], upstreams: UpstreamRegistry): void;
  /** Requests in flight, WebSocket tunnels included. */
  activeRequests(): number;
  /**
   * Wind down without refusing anything: every HTTP/1.1 answer from now on says
   * `Connection: close`, HTTP/2 sessions get a GOAWAY with their next answer, open streams and
   * tunnels run on. Idle connections are left to the keep-alive timeout: closing one under a
   * client that is just sending on it would lose that request.
   */
  retire(): void;
  /** Stop taking requests, let in-flight ones finish for up to `deadlineMs`, then destroy what is left. */
  close(deadlineMs: number): Promise<void>;
}

export function createHttpIngress(opts: HttpIngressOptions): HttpIngress {
  return new Ingress(opts);
}

class Ingress implements HttpIngress {
  private readonly opts: HttpIngressOptions;
  private readonly pipeline: RequestPipeline;
  private readonly h1: Server;
  private readonly h2: Http2Server;
  /** HTTP/1.1 sockets and how many of their requests are in flight. */
  private readonly h1Sockets = new Map<Duplex, number>();
  private readonly conns = new WeakMap<Duplex, Connection>();
  private readonly sessions = new Map<ServerHttp2Session, SessionState>();
  private readonly firstByte: FirstByteWait;
  /** One 'close' listener for every HTTP/1.1 socket (the socket is `this`). */
  private readonly h1Closed: (this: Duplex) => void;
  /** The connection being handed to the h2 server: its 'session' event fires synchronously. */
  private handingOver: Connection | undefined;
  private retiring = false;
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  constructor(opts: HttpIngressOptions) {
    this.opts = opts;
    this.h1 = createH1Server(opts.http);
    this.h2 = createH2Server(opts.http);
    this.pipeline = new RequestPipeline(opts, { router: new Router(opts.routes), upstreams: opts.upstreams });
    this.pipeline.onIdle = () => this.checkDrained();
    this.firstByte = new FirstByteWait(opts.http.headersTimeoutMs, (socket) => this.h1.emit('connection', socket));
    const h1Sockets = this.h1Sockets;
    const checkDrained = () => this.checkDrained();
    this.h1Closed = function (this: Duplex) {
      h1Sockets.delete(this);
      checkDrained();
    };
    this.h1.on('request', (req: IncomingMessage, res: ServerResponse) => this.onH1Request(req, res));
    this.h1.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    this.h1.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.onClientError(err, socket));
    this.h2.on('session', (session: ServerHttp2Session) => this.onSession(session));
    this.h2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw: string[]) => this.onStream(stream, headers, raw));
  }

  serve(socket: TLSSocket, conn: Connection): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    if (socket.alpnProtocol === 'h2') {
      this.handingOver = conn;
      try {
        this.h2.emit('connection', socket);
      } finally {
        this.handingOver = undefined;
      }
      return;
    }
    this.conns.set(socket, conn);
    this.h1Sockets.set(socket, 0);
    socket.on('close', this.h1Closed);
    this.firstByte.add(socket);
  }

  update(routes: readonly RouteConfig[], upstreams: UpstreamRegistry): void {
    this.pipeline.routing = { router: new Router(routes), upstreams };
  }

  activeRequests(): number {
    return this.pipeline.active;
  }

  retire(): void {
    if (this.retiring || this.closing) return;
    this.retiring = true;
    this.pipeline.retiring = true;
    for (const [session, state] of this.sessions) this.windDown(session, state);
  }

  /**
   * node's session.close() sends a GOAWAY naming the last stream received: that stream and all
   * before it are served, any the client sent after it are refused (REFUSED_STREAM, which says
   * "not processed, safe to retry"). Sent while a stream is open, or right as the next one
   * arrives, the GOAWAY reaches the client ahead of that stream's response, so a client that
   * waits for each answer learns of it before it sends again and nothing is refused. (node has
   * no HTTP/2 "shutdown notice", the GOAWAY that refuses nothing, to do better for clients that
   * send several streams at once.)
   */
  private windDown(session: ServerHttp2Session, state: SessionState): void {
    if (session.closed || session.destroyed) return;
    if (state.open > 0) session.close();
    else state.closeOnNextStream = true;
  }

  close(deadlineMs: number): Promise<void> {
    this.closing ??= this.stop(deadlineMs);
    return this.closing;
  }

  private stop(deadlineMs: number): Promise<void> {
    this.pipeline.closing = true;
    for (const [socket, inFlight] of this.h1Sockets) if (inFlight === 0) socket.end();
    for (const session of this.sessions.keys()) session.close();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const socket of this.h1Sockets.keys()) socket.destroy();
        for (const session of this.sessions.keys()) session.destroy();
        for (const socket of this.pipeline.tunnels) socket.destroy();
        finish();
      }, deadlineMs);
      const finish = () => {
        clearTimeout(timer);
        this.drained = undefined;
        // Stops node's timeout sweep; the server never listened, so there is nothing else to close.
        this.h1.close();
        resolve();
      };
      this.drained = finish;
      this.checkDrained();
    });
  }

  private checkDrained(): void {
    if (!this.drained) return;
    if (this.pipeline.active > 0 || this.h1Sockets.size > 0 || this.sessions.size > 0) return;
    this.drained();
  }

  private onH1Request(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    const conn = this.conns.get(socket);
    if (!conn) {
      socket.destroy();
      return;
    }
    this.h1Sockets.set(socket, (this.h1Sockets.get(socket) ?? 0) + 1);
    res.once('close', () => {
      const left = (this.h1Sockets.get(socket) ?? 1) - 1;
      if (!this.h1Sockets.has(socket)) return;
      this.h1Sockets.set(socket, left);
      if (this.closing && left === 0) socket.end();
    });
    this.pipeline.handle(req, res, conn);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const conn = this.conns.get(socket);
    if (!conn) {
      socket.destroy();
      return;
    }
    // From here on the socket is a tunnel, tracked by the pipeline, not an HTTP connection.
    this.h1Sockets.delete(socket);
    this.pipeline.upgrade(req, socket, head, conn);
  }

  private onSession(session: ServerHttp2Session): void {
    const conn = this.handingOver;
    if (!conn || this.closing) {
      session.destroy();
      return;
    }
    const state = limitSession(session, conn, this.opts.http);
    this.sessions.set(session, state);
    // A session whose handshake was under way when the ingress retired.
    if (this.retiring) this.windDown(session, state);
    session.on('error', (err) => conn.log.debug({ err: err.message }, 'http2 session error'));
    session.once('close', () => {
      this.sessions.delete(session);
      this.checkDrained();
    });
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]): void {
    const session = stream.session as ServerHttp2Session | undefined;
    const state = session && this.sessions.get(session);
    if (!state) {
      stream.destroy();
      return;
    }
    state.streamOpened(stream);
    if (state.closeOnNextStream) session.close();
    const res = new H2Response(stream);
    // What the compat API did for us: CONNECT is not proxied, and an expectation other than
    // 100-continue cannot be met.
    const expect = headers.expect;
    if (headers[':method'] === 'CONNECT' || (expect !== undefined && expect !== '100-continue')) {
      res.statusCode = expect === undefined ? 405 : 417;
      res.end();
      return;
    }
    if (expect !== undefined) stream.additionalHeaders({ ':status': 100 });
    const timeout = this.opts.http.requestTimeoutMs;
    if (timeout > 0 && !stream.endAfterHeaders) {
      // node's requestTimeout is HTTP/1.1 only: a body that does not arrive in time resets the stream.
      const timer = setTimeout(() => stream.close(h2constants.NGHTTP2_CANCEL), timeout);
      const clear = () => clearTimeout(timer);
      stream.once('end', clear);
      stream.once('close', clear);
    }
    this.pipeline.handle(new H2Request(stream, headers, rawHeaders), res, state.conn);
  }

  /** A request node could not parse (or timed out): answer it in our JSON form and close. */
  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    // Like node's own handler: answer only when no response has started on the socket. A peer
    // that reset or closed mid-request (HPE_INVALID_EOF_STATE) has nobody left to answer.
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || err.code === 'HPE_INVALID_EOF_STATE' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const code: ProxyErrorCode =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? 'WEAVER_ERR_HEADERS_TOO_LARGE'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 'WEAVER_ERR_REQUEST_TIMEOUT'
          : 'WEAVER_ERR_BAD_REQUEST';
    const id = nextId();
    const reply = errorReply(code, id);
    writeRawResponse(socket, reply.status, reply.headers, reply.body);
    this.opts.metrics.requests.inc({ route: '', status: String(reply.status) });
    const conn = this.conns.get(socket);
    (conn?.log ?? this.opts.log).info({ req: id, status: reply.status, code, reason: err.code ?? err.message }, 'bad request');
  }
}
