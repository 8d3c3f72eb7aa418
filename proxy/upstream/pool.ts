// A named group of servers that a route sends to. It owns the servers' connection pools and the
// balancer that orders them per request; plugins then see that order as their candidate list.
import type { UpstreamConfig } from '../config/schema.ts';
import type { UpstreamCandidate } from '../plugin/types.ts';
import { SmoothWeightedRoundRobin, type Balancer } from './balancer.ts';
import { UpstreamServer } from './server.ts';

export class UpstreamPool {
  readonly name: string;
  readonly config: UpstreamConfig;
  readonly servers: readonly UpstreamServer[];
  private readonly balancer: Balancer<UpstreamServer>;
  private readonly byCandidate = new Map<UpstreamCandidate, UpstreamServer>();
  /** A single server needs no ranking: its one-element list is shared by every request. */
  private readonly only: readonly UpstreamCandidate[] | undefined;

  constructor(name: string, config: UpstreamConfig, balancer?: Balancer<UpstreamServer>) {
    this.name = name;
    this.config = config;
    this.servers = Object.freeze(config.servers.map((s) => new UpstreamServer(s, config)));
    this.balancer = balancer ?? new SmoothWeightedRoundRobin<UpstreamServer>();
    for (const s of this.servers) this.byCandidate.set(s.candidate, s);
    this.only = this.servers.length === 1 ? Object.freeze([this.servers[0]!.candidate]) : undefined;
  }

  /** The servers for one request, best first by the balancer. */
  candidates(): readonly UpstreamCandidate[] {
    if (this.only) return this.only;
    const ranked = this.balancer.rank(this.servers);
    const out = new Array<UpstreamCandidate>(ranked.length);
    for (let i = 0; i < ranked.length; i++) out[i] = ranked[i]!.candidate;
    return out;
  }

  /** The server behind a candidate this pool handed out, or undefined for a foreign object. */
  server(candidate: UpstreamCandidate): UpstreamServer | undefined {
    return this.byCandidate.get(candidate);
  }

  /** Lets requests in flight finish, then closes every connection. */
  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.close()));
  }
}
