// The HTTP/1.1 server. It never listens: the listener terminates TLS and hands each socket
// over with emit('connection'), as https.Server does internally. Limits come from `http:`.
import http, { type IncomingMessage } from 'node:http';
import type { HttpConfig } from '../config/schema.ts';

/**
 * node checks headersTimeout/requestTimeout on a sweep, every 30 s by default: too coarse for
 * second-scale limits. A sweep at a tenth of the shortest limit (0.1–1 s) keeps them honest.
 */
function sweepInterval(cfg: HttpConfig): number {
  const limits = [cfg.headersTimeoutMs, cfg.requestTimeoutMs].filter((ms) => ms > 0);
  const shortest = limits.length > 0 ? Math.min(...limits) : 10_000;
  return Math.min(1_000, Math.max(100, Math.floor(shortest / 10)));
}

/** Only WebSocket upgrades become tunnels; any other Upgrade (h2c…) is served as a plain request. */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return req.method === 'GET' && typeof upgrade === 'string' && upgrade.toLowerCase() === 'websocket';
}

export function createH1Server(cfg: HttpConfig): http.Server {
  const requestTimeout = cfg.requestTimeoutMs;
  // node refuses a headers timeout longer than the request timeout.
  const headersTimeout = requestTimeout > 0 && cfg.headersTimeoutMs > requestTimeout ? requestTimeout : cfg.headersTimeoutMs;
  const server = http.createServer({
    maxHeaderSize: cfg.maxHeaderBytes,
    headersTimeout,
    requestTimeout,
    keepAliveTimeout: cfg.keepAliveTimeoutMs,
    connectionsCheckingInterval: sweepInterval(cfg),
    // Checked by the pipeline instead, so the 400 is our JSON with a request id.
    requireHostHeader: false,
    shouldUpgradeCallback: isWebSocketUpgrade,
  });
  server.maxRequestsPerSocket = cfg.maxRequestsPerConnection;
  // The timeout sweep starts on 'listening', which a server that never listens does not emit
  // by itself (node's own tests start it the same way).
  server.emit('listening');
  return server;
}
