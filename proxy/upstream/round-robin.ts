// `balance: round-robin`. Weights are honoured exactly: over any whole cycle each server gets
// its weight's share, which is what operators check a config change against.
import type { Balancer, Weighted } from './balancer.ts';

/**
 * nginx's smooth weighted round robin: every pick adds each server's weight to its running
 * score, takes the highest, and charges it the total. Weights 5,1,1 give a a b a c a a, not
 * a a a a a b c, so a heavy server never takes a burst. The others follow the pick in config
 * order (rotated after it) so a plugin that skips the first still spreads its fallbacks.
 */
export class SmoothWeightedRoundRobin<T extends Weighted> implements Balancer<T> {
  private readonly current = new Map<T, number>();

  rank(servers: readonly T[]): readonly T[] {
    const n = servers.length;
    if (n <= 1) return servers;
    let total = 0;
    let best = 0;
    let bestScore = -Infinity;
    for (let i = 0; i < n; i++) {
      const s = servers[i]!;
      const score = (this.current.get(s) ?? 0) + s.weight;
      this.current.set(s, score);
      total += s.weight;
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    this.current.set(servers[best]!, bestScore - total);
    const ranked = new Array<T>(n);
    for (let i = 0; i < n; i++) ranked[i] = servers[(best + i) % n]!;
    return ranked;
  }
}
