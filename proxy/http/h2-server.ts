// The HTTP/2 server (compat API). Like the HTTP/1.1 one it never listens: a TLS socket whose
// ALPN said h2 is handed over with emit('connection'); node's connection listener reads
// socket.alpnProtocol and starts a server session on the already-encrypted socket.
import http2 from 'node:http2';
import type { HttpConfig } from '../config/schema.ts';

export function createH2Server(cfg: HttpConfig): http2.Http2Server {
  return http2.createServer({
    settings: {
      maxConcurrentStreams: cfg.maxConcurrentStreams,
      maxHeaderListSize: cfg.maxHeaderBytes,
    },
  });
}

/**
 * Per-session limits node has no option for: close an idle session after the keep-alive
 * timeout, and stop taking streams after maxRequestsPerConnection (GOAWAY lets the open ones
 * finish).
 */
export function limitSession(session: http2.ServerHttp2Session, cfg: HttpConfig): void {
  let open = 0;
  let total = 0;
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    open++;
    total++;
    if (cfg.maxRequestsPerConnection > 0 && total >= cfg.maxRequestsPerConnection) session.close();
    stream.once('close', () => open--);
  });
  if (cfg.keepAliveTimeoutMs > 0) {
    // The session timer restarts on every frame; it firing with no stream open means idle.
    session.setTimeout(cfg.keepAliveTimeoutMs, () => {
      if (open === 0) session.close();
    });
  }
}
