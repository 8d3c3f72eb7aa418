// Per-source sliding windows over recent flows: how many connections in the last `windowMs`,
// to how many distinct destinations, ports and SNIs, with what error and failed-handshake rates.
// Counts are kept incrementally (add on arrival, subtract on expiry), so a record costs O(1)
// amortised; every count a client controls is bounded (sources by an LRU, flows per source by
// `maxFlowsPerSource`, the oldest dropped first).
import { LRUCache } from 'lru-cache';
import type { FlowRecord } from './flow.ts';

export interface SourceWindowStats {
  connections: number;
  distinctDestinations: number;
  distinctPorts: number;
  distinctSnis: number;
  /** Share of connections that closed with an error. */
  errorRate: number;
  failedHandshakes: number;
  failedHandshakeRate: number;
  bytesIn: number;
  bytesOut: number;
}

interface Entry {
  at: number;
  destination: string;
  port: number;
  sni: string | undefined;
  error: boolean;
  failed: boolean;
  bytesIn: number;
  bytesOut: number;
}

class SourceWindow {
  private readonly flows: Entry[] = [];
  private head = 0;
  private readonly destinations = new Map<string, number>();
  private readonly ports = new Map<number, number>();
  private readonly snis = new Map<string, number>();
  private errors = 0;
  private failed = 0;
  private bytesIn = 0;
  private bytesOut = 0;

  add(e: Entry, windowMs: number, max: number): void {
    this.expire(e.at - windowMs);
    if (this.flows.length - this.head >= max) this.drop();
    this.flows.push(e);
    bump(this.destinations, e.destination, 1);
    bump(this.ports, e.port, 1);
    if (e.sni !== undefined) bump(this.snis, e.sni, 1);
    this.errors += e.error ? 1 : 0;
    this.failed += e.failed ? 1 : 0;
    this.bytesIn += e.bytesIn;
    this.bytesOut += e.bytesOut;
  }

  expire(before: number): void {
    while (this.head < this.flows.length && this.flows[this.head]!.at <= before) this.drop();
    // Compact now and then so the array does not grow without end.
    if (this.head > 1024 && this.head * 2 > this.flows.length) {
      this.flows.splice(0, this.head);
      this.head = 0;
    }
  }

  private drop(): void {
    const e = this.flows[this.head++]!;
    bump(this.destinations, e.destination, -1);
    bump(this.ports, e.port, -1);
    if (e.sni !== undefined) bump(this.snis, e.sni, -1);
    this.errors -= e.error ? 1 : 0;
    this.failed -= e.failed ? 1 : 0;
    this.bytesIn -= e.bytesIn;
    this.bytesOut -= e.bytesOut;
  }

  stats(): SourceWindowStats {
    const n = this.flows.length - this.head;
    return {
      connections: n,
      distinctDestinations: this.destinations.size,
      distinctPorts: this.ports.size,
      distinctSnis: this.snis.size,
      errorRate: n === 0 ? 0 : this.errors / n,
      failedHandshakes: this.failed,
      failedHandshakeRate: n === 0 ? 0 : this.failed / n,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
    };
  }
}

function bump<K>(map: Map<K, number>, key: K, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}

export class SourceWindows {
  private readonly sources: LRUCache<string, SourceWindow>;
  private readonly windowMs: number;
  private readonly maxFlows: number;

  constructor(opts: { windowMs: number; maxSources: number; maxFlowsPerSource: number }) {
    this.windowMs = opts.windowMs;
    this.maxFlows = opts.maxFlowsPerSource;
    this.sources = new LRUCache({ max: opts.maxSources });
  }

  /** Adds the flow to its source's window and returns the window as it now is. */
  record(flow: FlowRecord): SourceWindowStats {
    let w = this.sources.get(flow.source);
    if (!w) this.sources.set(flow.source, (w = new SourceWindow()));
    w.add(
      {
        at: flow.endedAt, destination: flow.destination, port: flow.port, sni: flow.sni,
        error: flow.errors > 0, failed: flow.handshake === 'failed', bytesIn: flow.bytesIn, bytesOut: flow.bytesOut,
      },
      this.windowMs,
      this.maxFlows,
    );
    return w.stats();
  }

  /** The window of a source as of `now`, or undefined if it has none. */
  get(source: string, now = Date.now()): SourceWindowStats | undefined {
    const w = this.sources.peek(source);
    if (!w) return undefined;
    w.expire(now - this.windowMs);
    return w.stats();
  }

  get size(): number {
    return this.sources.size;
  }
}
