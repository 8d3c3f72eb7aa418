// A plaintext TLS alert, so a refused client learns why instead of seeing a bare reset.
import type { Socket } from 'node:net';

export const Alert = {
  handshakeFailure: 40,
  accessDenied: 49,
  internalError: 80,
  unrecognizedName: 112,
} as const;

export function sendAlertAndClose(socket: Socket, description: number): void {
  if (socket.destroyed) return;
  // level fatal (2); record version TLS 1.2 for the widest acceptance.
  socket.end(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, description]));
  socket.setTimeout(2_000, () => socket.destroy());
}

/** Plain HTTP on the TLS port gets an HTTP answer (like nginx's 497) rather than a TLS alert. */
export function sendPlainHttpHint(socket: Socket): void {
  if (socket.destroyed) return;
  const body = 'This port speaks HTTPS. Use https:// to connect.\n';
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
  );
  socket.setTimeout(2_000, () => socket.destroy());
}
