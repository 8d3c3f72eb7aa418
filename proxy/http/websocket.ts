// A WebSocket (any HTTP/1.1 Upgrade) tunnel: undici's upgrade() opens the upstream side, the
// upstream's 101 goes to the client with the hop-by-hop rules adapted (Connection and Upgrade
// must be there, and are ours), then bytes are piped both ways until either side closes.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WeaverError } from '../errors.ts';
import type { UpstreamServer } from '../upstream/server.ts';
import { classifyUpstreamError } from '../upstream/upstream-error.ts';
import { endToEnd } from './hop-by-hop.ts';
import type { HeaderMap } from './upstream-headers.ts';

export interface TunnelRequest {
  readonly path: string;
  /** End-to-end request headers; undici adds Connection and Upgrade itself. */
  readonly headers: HeaderMap;
  /** The Upgrade token the client asked for, e.g. `websocket`. */
  readonly protocol: string;
}

export interface TunnelObserver {
  /** The upstream switched protocols after `durationMs`: returns extra headers for the 101. */
  switched(headers: IncomingHttpHeaders, durationMs: number): OutgoingHttpHeaders;
  /** The upstream could not be reached or did not switch: the observer answers the client. */
  failed(error: WeaverError): void;
  /** Both sides are closed; `bytes` went from the upstream to the client. */
  closed(bytes: number): void;
}

export function openTunnel(server: UpstreamServer, request: TunnelRequest, client: Duplex, head: Buffer, observer: TunnelObserver): void {
  const started = performance.now();
  const abort = new AbortController();
  const onEarlyClose = () => abort.abort();
  client.once('close', onEarlyClose);
  server.inflight++;
  server.requests++;
  server.dispatcher.upgrade(
    { path: request.path, method: 'GET', headers: request.headers, protocol: request.protocol, signal: abort.signal },
    (err, data) => {
      client.off('close', onEarlyClose);
      if (err) {
        server.inflight--;
        if (client.destroyed) observer.closed(0);
        else observer.failed(classifyUpstreamError(err, true));
        return;
      }
      const ms = performance.now() - started;
      server.recordLatency(ms);
      const upstream = data.socket;
      if (client.destroyed) {
        server.inflight--;
        upstream.destroy();
        observer.closed(0);
        return;
      }
      const extra = observer.switched(data.headers, ms);
      client.write(switchingHead(data.headers, request.protocol, extra));
      if (head.length > 0) upstream.write(head);
      splice(client, upstream, (bytes) => {
        server.inflight--;
        observer.closed(bytes);
      });
    },
  );
}

function switchingHead(upstream: IncomingHttpHeaders, protocol: string, extra: OutgoingHttpHeaders): string {
  const headers: OutgoingHttpHeaders = { ...endToEnd(upstream), ...extra, connection: 'Upgrade', upgrade: protocol };
  let text = 'HTTP/1.1 101 Switching Protocols\r\n';
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) text += `${name}: ${String(v)}\r\n`;
  }
  return `${text}\r\n`;
}

/** Pipes both ways; the first side to end or fail takes the other with it. */
function splice(client: Duplex, upstream: Duplex, done: (bytes: number) => void): void {
  let bytes = 0;
  let open = 2;
  const countDown = () => {
    if (--open === 0) done(bytes);
  };
  upstream.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
    a.on('error', () => b.destroy());
    a.on('close', () => {
      b.destroy();
      countDown();
    });
    a.on('end', () => b.end());
  }
  upstream.pipe(client, { end: false });
  client.pipe(upstream, { end: false });
}
