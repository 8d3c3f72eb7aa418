// `balance: p2c-ewma`, as in Finagle and Linkerd: draw two servers at random (by weight), send to
// the cheaper, where cost = smoothed latency × (requests in flight + 1). Comparing just two keeps
// a fleet of proxies from all stampeding onto the one server that looks best, and a slow server
// loses almost every draw it is part of.
import type { Balancer, Loaded, RandomSource } from './balancer.ts';

/**
 * An unused server's latency fades with this time constant. Without it a server that was slow
 * once would never be sampled again (it loses every draw) and could never show it recovered.
 */
const DECAY_MS = 10_000;

export class PowerOfTwoChoicesEwma<T extends Loaded> implements Balancer<T> {
  private readonly random: RandomSource;
  private readonly now: () => number;

  constructor(random: RandomSource = Math.random, now: () => number = () => performance.now()) {
    this.random = random;
    this.now = now;
  }

  rank(servers: readonly T[]): readonly T[] {
    const n = servers.length;
    if (n <= 1) return servers;
    let total = 0;
    for (let i = 0; i < n; i++) total += servers[i]!.weight;
    const a = this.draw(servers, total, undefined);
    const b = this.draw(servers, total - a.weight, a);
    const now = this.now();
    // A tie (two unmeasured servers, or an idle pool) goes to the first draw, so weights hold.
    const [pick, other] = this.cost(b, now) < this.cost(a, now) ? [b, a] : [a, b];
    const ranked = [pick, other];
    for (let i = 0; i < n; i++) {
      const s = servers[i]!;
      if (s !== a && s !== b) ranked.push(s);
    }
    return ranked;
  }

  cost(s: T, now: number): number {
    const age = s.latencyAt === 0 ? 0 : Math.max(0, now - s.latencyAt);
    return s.latencyMs * Math.exp(-age / DECAY_MS) * (s.inflight + 1);
  }

  /** One server, with probability weight / total, never `skip`. */
  private draw(servers: readonly T[], total: number, skip: T | undefined): T {
    let r = this.random() * total;
    let last = servers[0]!;
    for (let i = 0; i < servers.length; i++) {
      const s = servers[i]!;
      if (s === skip) continue;
      last = s;
      r -= s.weight;
      if (r < 0) return s;
    }
    // r can only get here through floating-point rounding at the top end.
    return last;
  }
}
