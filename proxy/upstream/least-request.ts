// `balance: least-request`: the server with the fewest requests in flight per unit of weight.
// When the pool is idle every server ties at zero, so how ties are broken decides the spread of
// sequential traffic: they go by smooth weighted round robin among the tied servers, which keeps
// weights meaningful at low load and never piles ties onto the first server in config order.
import type { Balancer, Loaded } from './balancer.ts';
import { smoothPick } from './round-robin.ts';

function load(s: Loaded): number {
  return s.inflight / s.weight;
}

export class LeastRequest<T extends Loaded> implements Balancer<T> {
  /** Smooth-WRR scores among tied servers. */
  private readonly current = new Map<T, number>();

  rank(servers: readonly T[]): readonly T[] {
    const n = servers.length;
    if (n <= 1) return servers;
    let least = Infinity;
    for (let i = 0; i < n; i++) least = Math.min(least, load(servers[i]!));
    const best = servers[smoothPick(this.current, servers, (s) => load(s) === least)]!;
    // Retries go to the next least loaded; sort is stable, so ties keep config order.
    const rest = servers.filter((s) => s !== best).sort((a, b) => load(a) - load(b));
    rest.unshift(best);
    return rest;
  }
}
