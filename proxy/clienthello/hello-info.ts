// What plugins get in onClientHello. Fingerprints are computed on first read and kept, so a
// deployment whose plugins never look at JA3/JA4 never pays for the hashing.
import type { HelloInfo } from '../plugin/types.ts';
import { fingerprints } from './fingerprints.ts';
import type { ClientHello, Fingerprints, HelloArrival } from './types.ts';

export class LazyHelloInfo implements HelloInfo {
  readonly parsed: ClientHello;
  readonly arrival: HelloArrival;
  private prints: Fingerprints | undefined;

  constructor(parsed: ClientHello, arrival: HelloArrival) {
    this.parsed = parsed;
    this.arrival = arrival;
  }

  get sni(): string | undefined {
    return this.parsed.sni;
  }
  get alpn(): readonly string[] {
    return this.parsed.alpn;
  }
  private get all(): Fingerprints {
    return (this.prints ??= fingerprints(this.parsed));
  }
  get ja3(): string {
    return this.all.ja3;
  }
  get ja3_string(): string {
    return this.all.ja3_string;
  }
  get ja4(): string {
    return this.all.ja4;
  }
  get ja4_r(): string {
    return this.all.ja4_r;
  }
  get ja4_o(): string {
    return this.all.ja4_o;
  }
  get ja4_ro(): string {
    return this.all.ja4_ro;
  }
  toJSON(): object {
    return { sni: this.sni, alpn: this.alpn, ...this.all, arrival: this.arrival };
  }
}
