// How a pool orders its servers for one request, before plugins see the list. One policy per
// file behind this interface; the pool only hands them the servers that are in rotation
// (healthy and not ejected), so no policy has to know about health.
import type { BalancePolicy } from '../config/schema.ts';
import { LeastRequest } from './least-request.ts';
import { PowerOfTwoChoicesEwma } from './p2c-ewma.ts';
import { SmoothWeightedRoundRobin } from './round-robin.ts';

export interface Weighted {
  readonly weight: number;
}

/** The live numbers load-aware policies rank by; UpstreamServer has them all. */
export interface Loaded extends Weighted {
  /** Requests in flight now. */
  readonly inflight: number;
  /** Smoothed time to response headers in ms; 0 until measured. */
  readonly latencyMs: number;
  /** performance.now() of the last latency sample; 0 until measured. */
  readonly latencyAt: number;
}

export interface Balancer<T extends Weighted> {
  /**
   * The servers for one request, best first. `servers` are the ones in rotation; the result
   * holds each of them once, and the ones after the first are where retries go. Called once
   * per request, so stateful balancers advance here.
   */
  rank(servers: readonly T[]): readonly T[];
}

/** Uniform in [0, 1), like Math.random; tests pass a seeded one. */
export type RandomSource = () => number;

export function createBalancer<T extends Loaded>(policy: BalancePolicy, random: RandomSource = Math.random): Balancer<T> {
  switch (policy) {
    case 'least-request':
      return new LeastRequest<T>();
    case 'p2c-ewma':
      return new PowerOfTwoChoicesEwma<T>(random);
    case 'round-robin':
      return new SmoothWeightedRoundRobin<T>();
  }
}
