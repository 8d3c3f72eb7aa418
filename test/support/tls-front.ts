// Stands in for the real listener in HTTP tests: TLS is terminated on loopback (ALPN h2 and
// http/1.1), a Connection is made for each socket and handed to the ingress, the same call the
// listener makes after a handshake. Two transports, like the listener's two paths: `native`
// (tls.Server on the TCP socket) and `js-stream` (the same tls.Server fed a JS Duplex wrapping
// the TCP socket, as the listener does when a packet tap sits between the socket and TLS).
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { pino, type Logger } from 'pino';
import { Connection } from '../../proxy/connection.ts';
import type { HttpIngress } from '../../proxy/http/ingress.ts';

export interface TlsFront {
  readonly port: number;
  /** https://127.0.0.1:<port> */
  readonly url: string;
  /** Every connection accepted so far, in order. */
  readonly connections: Connection[];
  close(): Promise<void>;
}

export interface TlsFrontOptions {
  cert: string;
  key: string;
  log?: Logger;
  alpn?: string[];
  transport?: 'native' | 'js-stream';
}

export async function startTlsFront(ingress: HttpIngress, opts: TlsFrontOptions): Promise<TlsFront> {
  const log = opts.log ?? pino({ level: 'silent' });
  const connections: Connection[] = [];
  const sockets = new Set<net.Socket>();
  const ALPNProtocols = opts.alpn ?? ['h2', 'http/1.1'];
  const serve = (socket: tls.TLSSocket, transport: net.Socket) => {
    const conn = new Connection(transport, 'test', log);
    connections.push(conn);
    sockets.add(transport);
    transport.once('close', () => {
      conn.closed = true;
      sockets.delete(transport);
    });
    ingress.serve(socket, conn);
  };
  let server: net.Server;
  if (opts.transport === 'js-stream') {
    const tlsServer = tls.createServer({ cert: opts.cert, key: opts.key, ALPNProtocols });
    const raws = new WeakMap<object, net.Socket>();
    tlsServer.on('secureConnection', (socket) => {
      const inner = socket as unknown as { _handle?: { _parentWrap?: { stream?: object } } };
      const stream = inner._handle?._parentWrap?.stream;
      const raw = stream && raws.get(stream);
      if (raw) serve(socket, raw);
      else socket.destroy();
    });
    server = net.createServer((raw) => {
      raw.on('error', () => raw.destroy());
      const duplex = jsStream(raw);
      raws.set(duplex, raw);
      tlsServer.emit('connection', duplex);
    });
  } else {
    const tlsServer = tls.createServer({ cert: opts.cert, key: opts.key, ALPNProtocols });
    tlsServer.on('secureConnection', (socket) => serve(socket, socket));
    server = tlsServer;
  }
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `https://127.0.0.1:${port}`,
    connections,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** A plain JS Duplex over the socket, so TLS cannot use the socket's native handle. */
function jsStream(raw: net.Socket): Duplex {
  const carrier = new Duplex({
    read() {
      raw.resume();
    },
    write(chunk: Buffer, _encoding, done) {
      raw.write(chunk, done);
    },
    final(done) {
      raw.end(done);
    },
    destroy(err, done) {
      raw.destroy(err ?? undefined);
      done(err);
    },
  });
  raw.on('data', (chunk: Buffer) => {
    if (!carrier.push(chunk)) raw.pause();
  });
  raw.on('end', () => carrier.push(null));
  raw.on('close', () => carrier.destroy());
  return carrier;
}
