// A local handshake pool: terminates TLS in this process with its own profile. It is a
// tls.Server that never listens; the listener hands it sockets whose ClientHello it has already
// read (and put back), so the handshake runs on node's native TLS path from the first byte.
import { constants as cryptoConstants } from 'node:crypto';
import tls, { type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { LocalPoolConfig } from '../config/schema.ts';
import type { CertificateStore } from '../tls/certificates.ts';
import type { Connection } from '../connection.ts';
import type { CoreMetrics } from '../metrics.ts';
import type { HandshakeInfo } from '../plugin/types.ts';
import { Alert, sendAlertAndClose } from './alert.ts';

export interface HandshakeDone {
  (tlsSocket: TLSSocket, conn: Connection, info: HandshakeInfo): void;
}

export class LocalPool {
  readonly kind = 'local';
  readonly name: string;
  readonly config: LocalPoolConfig;
  private readonly server: tls.Server;
  private readonly metrics: CoreMetrics;
  private readonly onDone: HandshakeDone;
  private readonly pending = new WeakMap<object, { conn: Connection; helloDoneMark: number }>();
  private inProgress = 0;
  // Bound once: these run on every handshake.
  private readonly handshakesOk: { inc(): void };
  private readonly handshakeSeconds: { observe(v: number): void };

  constructor(name: string, config: LocalPoolConfig, certs: CertificateStore, metrics: CoreMetrics, onDone: HandshakeDone) {
    this.name = name;
    this.config = config;
    this.metrics = metrics;
    this.onDone = onDone;
    this.handshakesOk = metrics.handshakes.labels({ pool: name, outcome: 'ok' });
    this.handshakeSeconds = metrics.handshakeSeconds.labels({ pool: name });
    const requestCert = config.clientCertificate !== 'none';
    this.server = tls.createServer({
      ...certs.contextOptions,
      cert: certs.defaultCredentials.cert,
      key: certs.defaultCredentials.key,
      ALPNProtocols: config.alpn,
      requestCert,
      rejectUnauthorized: config.clientCertificate === 'require',
      handshakeTimeout: config.handshakeTimeoutMs,
      ...(config.sessionTickets ? {} : { secureOptions: cryptoConstants.SSL_OP_NO_TICKET }),
      SNICallback: (servername, cb) => {
        const ctx = certs.lookup(servername);
        if (ctx) return cb(null, ctx);
        if (config.unknownSni === 'reject') return cb(new Error(`no certificate for "${servername}"`), undefined);
        cb(null, certs.defaultContext);
      },
    });
    this.server.on('secureConnection', (s: TLSSocket) => this.secured(s));
    this.server.on('tlsClientError', (err: Error & { code?: string }, s: TLSSocket) => this.failed(err, s));
  }

  /**
   * Takes a connection whose hello has been read. `stream` is the raw socket with the hello put
   * back (native path), or a packet tap Duplex that already holds it.
   */
  take(stream: Socket | Duplex, conn: Connection): void {
    if (this.inProgress >= this.config.maxConcurrentHandshakes) {
      this.metrics.handshakes.inc({ pool: this.name, outcome: 'refused' });
      conn.outcome = 'rejected';
      conn.error = 'handshake pool at capacity';
      conn.log.warn({ pool: this.name, cap: this.config.maxConcurrentHandshakes }, 'handshake refused: pool at capacity');
      sendAlertAndClose(conn.socket, Alert.handshakeFailure);
      return;
    }
    this.inProgress++;
    this.pending.set(stream, { conn, helloDoneMark: performance.now() });
    conn.pool = this.name;
    this.server.emit('connection', stream);
  }

  get handshakesInProgress(): number {
    return this.inProgress;
  }

  // tls.Server does not say which stream a TLSSocket wraps. Node keeps it as `_parent` for a
  // net.Socket, and behind the TLS handle's JSStreamSocket for any other stream (the packet
  // tap). handshake-pools and phase-tracer tests fail loudly if that ever changes.
  private claim(s: TLSSocket): { conn: Connection; helloDoneMark: number } | undefined {
    const inner = s as unknown as { _parent?: object | null; _handle?: { _parentWrap?: { stream?: object } } };
    const parent = inner._parent ?? inner._handle?._parentWrap?.stream;
    const entry = parent ? this.pending.get(parent) : undefined;
    if (entry && parent) {
      this.pending.delete(parent);
      this.inProgress--;
    }
    return entry;
  }

  private secured(s: TLSSocket): void {
    const entry = this.claim(s);
    if (!entry) {
      s.destroy();
      return;
    }
    const { conn, helloDoneMark } = entry;
    const durationMs = performance.now() - helloDoneMark;
    this.handshakesOk.inc();
    this.handshakeSeconds.observe(durationMs / 1000);
    const peer = this.config.clientCertificate === 'none' ? undefined : s.getPeerX509Certificate();
    const info: HandshakeInfo = {
      protocol: s.getProtocol() ?? 'unknown',
      cipher: s.getCipher()?.name ?? 'unknown',
      alpn: s.alpnProtocol ?? false,
      servername: (s as TLSSocket & { servername?: string | false }).servername || undefined,
      resumed: s.isSessionReused(),
      durationMs,
      clientCertificate: peer && {
        subject: peer.subject,
        issuer: peer.issuer,
        fingerprint256: peer.fingerprint256,
        authorized: s.authorized,
        authorizationError: s.authorizationError ? String(s.authorizationError) : undefined,
        subjectAltName: peer.subjectAltName,
      },
    };
    this.onDone(s, conn, info);
  }

  private failed(err: Error & { code?: string }, s: TLSSocket): void {
    const entry = this.claim(s);
    // With a tlsClientError listener node leaves the socket open: closing it is ours to do.
    s.destroy();
    entry?.conn.socket.destroy();
    const timeout = err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT';
    this.metrics.handshakes.inc({ pool: this.name, outcome: timeout ? 'timeout' : 'error' });
    if (!entry) return;
    entry.conn.outcome = timeout ? 'timeout' : 'handshake_error';
    entry.conn.error = err.code ?? err.message;
    entry.conn.log.info({ pool: this.name, code: err.code, reason: err.message }, 'TLS handshake failed');
  }
}
