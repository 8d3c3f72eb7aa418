// Layer-4 relay between two sockets: used for remote handshake pools and passthrough routes.
import type { Socket } from 'node:net';

/** Pipes both ways; `first` (the hello bytes already read) goes to `to` first. Either side closing closes both. */
export function relay(from: Socket, to: Socket, first: Buffer, judge?: (chunk: Uint8Array, direction: 'in' | 'out') => boolean): void {
  const cutBoth = () => {
    from.destroy();
    to.destroy();
  };
  if (judge) {
    if (first.length > 0 && judge(first, 'in')) return cutBoth();
    from.on('data', (c: Buffer) => {
      if (judge(c, 'in')) cutBoth();
    });
    to.on('data', (c: Buffer) => {
      if (judge(c, 'out')) cutBoth();
    });
  }
  if (first.length > 0) to.write(first);
  from.pipe(to);
  to.pipe(from);
  from.on('error', cutBoth);
  to.on('error', cutBoth);
  from.on('close', () => to.destroy());
  to.on('close', () => from.destroy());
  from.resume();
}
