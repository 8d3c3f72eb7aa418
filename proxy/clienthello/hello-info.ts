// What plugins get in onClientHello. Fingerprints are computed on first read and kept, so a
// deployment whose plugins never look at JA3/JA4 never pays for the hashing; JA3, JA4 (with
// JA4_r) and the original-order JA4_o (with JA4_ro) are three separate computations, so a
// plugin reading only `ja4` pays for that one.
import type { HelloInfo } from '../plugin/types.ts';
import { ja3 } from './ja3.ts';
import { ja4Original, ja4Sorted } from './ja4.ts';
import type { ClientHello, Fingerprints, HelloArrival } from './types.ts';

export class LazyHelloInfo implements HelloInfo {
  readonly parsed: ClientHello;
  readonly arrival: HelloArrival;
  private ja3s: Pick<Fingerprints, 'ja3' | 'ja3_string'> | undefined;
  private ja4s: Pick<Fingerprints, 'ja4' | 'ja4_r'> | undefined;
  private ja4os: Pick<Fingerprints, 'ja4_o' | 'ja4_ro'> | undefined;

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
  private get j3(): Pick<Fingerprints, 'ja3' | 'ja3_string'> {
    return (this.ja3s ??= ja3(this.parsed));
  }
  private get j4(): Pick<Fingerprints, 'ja4' | 'ja4_r'> {
    return (this.ja4s ??= ja4Sorted(this.parsed));
  }
  private get j4o(): Pick<Fingerprints, 'ja4_o' | 'ja4_ro'> {
    return (this.ja4os ??= ja4Original(this.parsed));
  }
  get ja3(): string {
    return this.j3.ja3;
  }
  get ja3_string(): string {
    return this.j3.ja3_string;
  }
  get ja4(): string {
    return this.j4.ja4;
  }
  get ja4_r(): string {
    return this.j4.ja4_r;
  }
  get ja4_o(): string {
    return this.j4o.ja4_o;
  }
  get ja4_ro(): string {
    return this.j4o.ja4_ro;
  }
  toJSON(): object {
    return { sni: this.sni, alpn: this.alpn, ...this.j3, ...this.j4, ...this.j4o, arrival: this.arrival };
  }
}
