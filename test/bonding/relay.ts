// A TCP relay in front of one endpoint address, standing for one network path: `blackhole()`
// stops carrying bytes both ways without closing anything (a dead path: no FIN, no RST, new
// connections hang), `cut()` destroys every connection and refuses new ones, `restore()` lets
// traffic through again (connections the blackhole swallowed are dropped then).
import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';

export class Relay {
  port = 0;
  mode: 'pass' | 'blackhole' | 'cut' = 'pass';
  private readonly server: net.Server;
  private readonly pairs = new Set<[Socket, Socket | undefined]>();

  /** One-way delay added to every chunk, both directions (order kept). */
  private readonly delayMs: number;

  private constructor(target: { host: string; port: number }, delayMs: number) {
    this.delayMs = delayMs;
    this.server = net.createServer((a) => {
      a.on('error', () => {});
      if (this.mode === 'cut') return void a.resetAndDestroy();
      const pair: [Socket, Socket | undefined] = [a, undefined];
      this.pairs.add(pair);
      a.once('close', () => this.drop(pair));
      if (this.mode === 'blackhole') return void a.pause();
      const b = net.connect(target);
      pair[1] = b;
      b.on('error', () => {});
      b.once('close', () => this.drop(pair));
      this.forward(a, b);
      this.forward(b, a);
    });
  }

  static async start(host: string, target: { host: string; port: number }, delayMs = 0): Promise<Relay> {
    const r = new Relay(target, delayMs);
    r.server.listen(0, host);
    await once(r.server, 'listening');
    r.port = (r.server.address() as AddressInfo).port;
    return r;
  }

  blackhole(): void {
    this.mode = 'blackhole';
    for (const [a, b] of this.pairs) {
      a.pause();
      b?.pause();
    }
  }

  cut(): void {
    this.mode = 'cut';
    for (const [a, b] of this.pairs) {
      a.resetAndDestroy();
      b?.resetAndDestroy();
    }
  }

  restore(): void {
    for (const [a, b] of this.pairs) {
      if (!a.isPaused()) continue;
      a.destroy();
      b?.destroy();
    }
    this.mode = 'pass';
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private forward(from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (this.mode !== 'pass') return;
      if (this.delayMs === 0) {
        if (!to.write(chunk)) from.pause();
        return;
      }
      setTimeout(() => this.mode === 'pass' && to.write(chunk), this.delayMs);
    });
    to.on('drain', () => this.mode === 'pass' && from.resume());
    from.on('end', () => setTimeout(() => to.end(), this.delayMs));
  }

  private drop(pair: [Socket, Socket | undefined]): void {
    if (!this.pairs.has(pair)) return;
    // A blackholed path carries no close either: the far end must notice by itself.
    if (this.mode === 'blackhole') return;
    this.pairs.delete(pair);
    pair[0].destroy();
    pair[1]?.destroy();
  }
}
