// `balance: round-robin`. Weights are honoured exactly: over any whole cycle each server gets
// its weight's share, which is what operators check a config change against.
import type { Balancer, Weighted } from './balancer.ts';

/**
 * nginx's smooth weighted round robin: every pick adds each server's weight to its running
 * score, takes the highest, and charges it the total. Weights 5,1,1 give a a b a c a a, not
 * a a a a a b c, so a heavy server never takes a burst. Only the servers `eligible` admits
 * (all by default) take part in this pick. Returns the index of the one picked.
 */
export function smoothPick<T extends Weighted>(current: Map<T, number>, servers: readonly T[], eligible?: (s: T) => boolean): number {
  let total = 0;
  let best = 0;
  let bestScore = -Infinity;
  for (let i = 0; i < servers.length; i++) {
    const s = servers[i]!;
    if (eligible && !eligible(s)) continue;
    const score = (current.get(s) ?? 0) + s.weight;
    current.set(s, score);
    total += s.weight;
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  current.set(servers[best]!, bestScore - total);
  return best;
}

/**
 * The others follow the pick in config order (rotated after it) so a plugin that skips the
 * first still spreads its fallbacks.
 */
export class SmoothWeightedRoundRobin<T extends Weighted> implements Balancer<T> {
  private readonly current = new Map<T, number>();

  rank(servers: readonly T[]): readonly T[] {
    const n = servers.length;
    if (n <= 1) return servers;
    const best = smoothPick(this.current, servers);
    const ranked = new Array<T>(n);
    for (let i = 0; i < n; i++) ranked[i] = servers[(best + i) % n]!;
    return ranked;
  }
}
