// The demo origin's WebSocket echo: just enough RFC 6455 to prove a tunnel works end to end.
// Text, binary and continuation frames come back as they were sent (fragmentation kept), pings
// get pongs, a close is answered with the same code. No extensions, no subprotocols.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Larger frames are refused with 1009: this is a demo, not a file transfer service. */
const MAX_PAYLOAD = 16 * 1024 * 1024;

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

export function acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || req.headers['sec-websocket-version'] !== '13') {
    socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n' +
      `sec-websocket-accept: ${accept}\r\n\r\n`,
  );
  new EchoSession(socket).feed(head);
}

class EchoSession {
  private readonly socket: Duplex;
  private pending: Buffer = Buffer.alloc(0);
  private closing = false;

  constructor(socket: Duplex) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.feed(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('end', () => socket.end());
  }

  feed(chunk: Buffer): void {
    if (chunk.length === 0 || this.closing) return;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.parse();
  }

  private parse(): void {
    while (!this.closing && this.pending.length >= 2) {
      const buf = this.pending;
      const fin = (buf[0]! & 0x80) !== 0;
      const opcode = buf[0]! & 0x0f;
      const masked = (buf[1]! & 0x80) !== 0;
      let length = buf[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buf.length < 4) return;
        length = buf.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buf.length < 10) return;
        const big = buf.readBigUInt64BE(2);
        length = big > BigInt(MAX_PAYLOAD) ? MAX_PAYLOAD + 1 : Number(big);
        offset = 10;
      }
      // RFC 6455 §5.1: a server must close on an unmasked client frame.
      if (!masked) return this.fail(1002);
      if (length > MAX_PAYLOAD) return this.fail(1009);
      if (buf.length < offset + 4 + length) return;
      const mask = buf.subarray(offset, offset + 4);
      const payload = Buffer.from(buf.subarray(offset + 4, offset + 4 + length));
      for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ mask[i & 3]!;
      this.pending = buf.subarray(offset + 4 + length);
      this.frame(fin, opcode, payload);
    }
  }

  private frame(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case OP_CONTINUATION:
      case OP_TEXT:
      case OP_BINARY:
        this.send(fin, opcode, payload);
        return;
      case OP_PING:
        this.send(true, OP_PONG, payload);
        return;
      case OP_PONG:
        return;
      case OP_CLOSE:
        // Echo the status code (not the reason) and finish the closing handshake.
        this.closing = true;
        this.send(true, OP_CLOSE, payload.subarray(0, 2));
        this.socket.end();
        return;
      default:
        this.fail(1002);
    }
  }

  private fail(code: number): void {
    this.closing = true;
    const body = Buffer.alloc(2);
    body.writeUInt16BE(code);
    this.send(true, OP_CLOSE, body);
    this.socket.end();
  }

  /** Server frames are never masked. Backpressure: stop reading until the echo is flushed. */
  private send(fin: boolean, opcode: number, payload: Buffer): void {
    const n = payload.length;
    const header = Buffer.alloc(n < 126 ? 2 : n < 65_536 ? 4 : 10);
    header[0] = (fin ? 0x80 : 0) | opcode;
    if (n < 126) header[1] = n;
    else if (n < 65_536) {
      header[1] = 126;
      header.writeUInt16BE(n, 2);
    } else {
      header[1] = 127;
      header.writeBigUInt64BE(BigInt(n), 2);
    }
    if (!this.socket.write(Buffer.concat([header, payload]))) {
      this.socket.pause();
      this.socket.once('drain', () => this.socket.resume());
    }
  }
}
