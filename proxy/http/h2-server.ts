// The HTTP/2 server, served through its 'stream' event (see h2-stream.ts). Like the HTTP/1.1
// one it never listens: a TLS socket whose ALPN said h2 is handed over with emit('connection');
// node's connection listener reads socket.alpnProtocol and starts a server session on the
// already-encrypted socket.
import http2 from 'node:http2';
import type { HttpConfig } from '../config/schema.ts';
import type { Connection } from '../connection.ts';

export function createH2Server(cfg: HttpConfig): http2.Http2Server {
  return http2.createServer({
    settings: {
      maxConcurrentStreams: cfg.maxConcurrentStreams,
      maxHeaderListSize: cfg.maxHeaderBytes,
    },
  });
}

/** What the ingress keeps per session: its connection, and counts for the limits below. */
export class SessionState {
  readonly conn: Connection;
  /** Streams open now. */
  open = 0;
  /** Set when a reload retired the session while it was idle: GOAWAY comes with the next stream. */
  closeOnNextStream = false;
  private total = 0;
  private readonly session: http2.ServerHttp2Session;
  private readonly maxRequests: number;
  private readonly streamClosed = (): void => {
    this.open--;
  };

  constructor(session: http2.ServerHttp2Session, conn: Connection, maxRequests: number) {
    this.session = session;
    this.conn = conn;
    this.maxRequests = maxRequests;
  }

  /** Stops taking streams after maxRequestsPerConnection (GOAWAY lets the open ones finish). */
  streamOpened(stream: http2.ServerHttp2Stream): void {
    this.open++;
    this.total++;
    stream.on('close', this.streamClosed);
    if (this.maxRequests > 0 && this.total >= this.maxRequests) this.session.close();
  }
}

/** Per-session limits node has no option for (see SessionState), and closing an idle session after the keep-alive timeout. */
export function limitSession(session: http2.ServerHttp2Session, conn: Connection, cfg: HttpConfig): SessionState {
  const state = new SessionState(session, conn, cfg.maxRequestsPerConnection);
  if (cfg.keepAliveTimeoutMs > 0) {
    // The session timer restarts on every frame; it firing with no stream open means idle.
    session.setTimeout(cfg.keepAliveTimeoutMs, () => {
      if (state.open === 0) session.close();
    });
  }
  return state;
}
