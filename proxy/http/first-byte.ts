// HTTP/1.1 connections wait here for their first bytes before they meet node's HTTP server.
// The server's per-connection state (its parser above all) costs about 13 KiB of RSS, a fifth
// of an idle TLS connection: a connection opened ahead of need (a browser's preconnect, a pool
// warming up) gets it only when it sends something. The wait has the deadline node's server
// would give a silent connection (headersTimeout), checked by one timer for all of them.
import type { TLSSocket } from 'node:tls';

export class FirstByteWait {
  /** Waiting sockets and their deadlines (performance.now()); one timeout for all keeps the Map in deadline order. */
  private readonly waiting = new Map<TLSSocket, number>();
  private readonly timeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly onReadable: (this: TLSSocket) => void;
  private readonly onClose: (this: TLSSocket) => void;

  /** `ready` gets each socket once it has bytes to read (or has ended); a socket silent past `timeoutMs` (0: never) is closed. */
  constructor(timeoutMs: number, ready: (socket: TLSSocket) => void) {
    this.timeoutMs = timeoutMs;
    const waiting = this.waiting;
    // Shared by every socket (the socket is `this`): nothing is allocated per connection.
    const onClose = function (this: TLSSocket): void {
      waiting.delete(this);
    };
    const onReadable = function (this: TLSSocket): void {
      waiting.delete(this);
      this.off('readable', onReadable);
      this.off('close', onClose);
      ready(this);
    };
    this.onReadable = onReadable;
    this.onClose = onClose;
  }

  add(socket: TLSSocket): void {
    // Listening for 'readable' reads without consuming: the bytes stay in the socket's buffer
    // for the HTTP server, which resumes the socket when it attaches its 'data' listener.
    socket.on('readable', this.onReadable);
    socket.on('close', this.onClose);
    if (this.timeoutMs <= 0) return;
    this.waiting.set(socket, performance.now() + this.timeoutMs);
    if (!this.timer) this.arm(this.timeoutMs);
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.expire(), ms);
    this.timer.unref();
  }

  private expire(): void {
    this.timer = undefined;
    const now = performance.now();
    for (const [socket, deadline] of this.waiting) {
      if (deadline > now) return this.arm(deadline - now);
      this.waiting.delete(socket);
      socket.destroy();
    }
  }
}
