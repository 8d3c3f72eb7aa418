// Only built when a plugin registers onPacket: a JS Duplex between the client socket and TLS
// that shows every chunk to the plugins, both ways, and cuts the flow on their word. It moves
// TLS off the native stream path, which is why it is never there unless asked for.
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

export type PacketJudge = (chunk: Uint8Array, direction: 'in' | 'out') => boolean;

export function tapSocket(raw: Socket, already: Buffer, judge: PacketJudge, onCut: () => void): Duplex {
  let cut = false;
  const doCut = () => {
    if (cut) return;
    cut = true;
    onCut();
    raw.destroy();
    tap.destroy();
  };
  const tap = new Duplex({
    read() {
      raw.resume();
    },
    write(chunk: Buffer, _enc, done) {
      if (cut) return done();
      if (judge(chunk, 'out')) {
        doCut();
        return done();
      }
      if (raw.write(chunk)) done();
      else raw.once('drain', () => done());
    },
    final(done) {
      raw.end();
      done();
    },
    destroy(err, done) {
      raw.destroy();
      done(err);
    },
  });
  const admit = (chunk: Buffer) => {
    if (judge(chunk, 'in')) return doCut();
    if (!tap.push(chunk)) raw.pause();
  };
  if (already.length > 0) admit(already);
  raw.on('data', admit);
  raw.on('end', () => tap.push(null));
  raw.on('close', () => tap.destroy());
  raw.on('error', (err) => tap.destroy(err));
  return tap;
}
