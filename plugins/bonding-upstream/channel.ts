// A channel carries the session's frames over one network path. The session needs only this
// much of it, so a datagram transport (QUIC, DTLS, WireGuard) can plug in beside TLS over TCP:
// it sends one frame per datagram (frames never exceed `mtu`) and reports what it lost through
// the session's acks, exactly as a stream transport does.
import type { TLSSocket } from 'node:tls';
import { FrameError, FrameReader, type InFrame } from './frames.ts';

export interface Channel {
  /** Largest DATA payload a frame on this channel may carry. */
  readonly mtu: number;
  /** Bytes handed to `send` that the transport has not passed to the network yet. */
  readonly queuedBytes: number;
  readonly closed: boolean;
  /** One frame: its header (and fixed fields), then an optional payload sent as is. */
  send(head: Buffer, payload?: Buffer): void;
  /** Every frame the peer sent, in the order this channel delivered them. */
  onFrame(fn: (frame: InFrame) => void): void;
  /** Once, with the reason, when the channel is gone (closed here, by the peer, or by an error). */
  onClose(fn: (reason: string) => void): void;
  close(reason: string): void;
  readonly description: { readonly local: string; readonly remote: string; readonly transport: string };
}

/** Frames over a TLS 1.3 socket. Writes within one tick go out together (cork/uncork). */
export class TlsChannel implements Channel {
  readonly mtu: number;
  readonly description: { local: string; remote: string; transport: string };
  private readonly socket: TLSSocket;
  private readonly reader: FrameReader;
  private frameFn: (f: InFrame) => void = () => {};
  private closeFns: Array<(reason: string) => void> = [];
  private corked = false;
  private closeReason: string | undefined;

  constructor(socket: TLSSocket, mtu: number, maxBody: number) {
    this.socket = socket;
    this.mtu = mtu;
    this.reader = new FrameReader(maxBody);
    socket.setNoDelay(true);
    this.description = {
      local: `${socket.localAddress ?? '?'}:${socket.localPort ?? 0}`,
      remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`,
      transport: 'tls1.3',
    };
    const onFrame = (f: InFrame) => this.frameFn(f);
    socket.on('data', (chunk: Buffer) => {
      if (this.closeReason !== undefined) return;
      try {
        this.reader.push(chunk, onFrame);
      } catch (err) {
        this.close(err instanceof FrameError ? `protocol error: ${err.message}` : `error: ${(err as Error).message}`);
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => this.finish(`socket error: ${err.code ?? err.message}`));
    socket.on('close', () => this.finish('closed by peer'));
    socket.on('end', () => this.finish('ended by peer'));
  }

  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  get closed(): boolean {
    return this.closeReason !== undefined;
  }

  send(head: Buffer, payload?: Buffer): void {
    if (this.closeReason !== undefined) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(head);
    if (payload !== undefined && payload.length > 0) this.socket.write(payload);
  }

  onFrame(fn: (frame: InFrame) => void): void {
    this.frameFn = fn;
  }

  onClose(fn: (reason: string) => void): void {
    if (this.closeReason !== undefined) fn(this.closeReason);
    else this.closeFns.push(fn);
  }

  close(reason: string): void {
    this.finish(reason);
  }

  private finish(reason: string): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    this.socket.destroy();
    const fns = this.closeFns;
    this.closeFns = [];
    for (const fn of fns) fn(reason);
  }
}
