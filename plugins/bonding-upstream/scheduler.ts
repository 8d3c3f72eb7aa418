// Which path carries the next frame, in each bonding mode. The session asks once per frame;
// undefined means "wait": every usable path is full (its unacked bytes reached its cap), or, in
// the modes that keep to one path or to a share, the path whose turn it is is full.
import type { BondMode } from './options.ts';
import type { Path } from './path.ts';

export interface SchedulerOptions {
  /** active-standby: a better path must be up this long before traffic goes back to it. */
  failbackMs: number;
}

export class Scheduler {
  mode: BondMode;
  readonly opts: SchedulerOptions;
  /** active-standby: the path in use. */
  private active: Path | undefined;

  constructor(mode: BondMode, opts: SchedulerOptions) {
    this.mode = mode;
    this.opts = opts;
  }

  pick(paths: readonly Path[], bytes: number, now: number): Path | undefined {
    switch (this.mode) {
      case 'active-active':
        return earliest(paths, bytes);
      case 'active-standby': {
        const p = this.standbyChoice(paths, now);
        return p && fits(p, bytes) ? p : undefined;
      }
      case 'weighted':
        return weightedTurn(paths, bytes);
    }
  }

  /** For control frames and resends: any usable path, the one expected to deliver first. */
  any(paths: readonly Path[]): Path | undefined {
    if (this.mode === 'active-standby') return this.standbyChoice(paths, performance.now());
    let best: Path | undefined;
    for (const p of paths) if (p.usable && (!best || p.eta(0) < best.eta(0))) best = p;
    return best;
  }

  private standbyChoice(paths: readonly Path[], now: number): Path | undefined {
    let best: Path | undefined;
    for (const p of paths) if (p.usable && (!best || p.priority < best.priority)) best = p;
    const cur = this.active;
    if (cur?.usable && best && best !== cur && best.priority < cur.priority && now - best.upSince < this.opts.failbackMs) return cur;
    this.active = best;
    return best;
  }
}

function fits(p: Path, bytes: number): boolean {
  return p.inflight === 0 || p.inflight + bytes <= p.cap;
}

/** The usable path where `bytes` sent now would arrive first (base RTT + its queue / its rate). */
export function earliest(paths: readonly Path[], bytes: number): Path | undefined {
  let best: Path | undefined;
  let bestEta = Infinity;
  for (const p of paths) {
    if (!p.usable || !fits(p, bytes)) continue;
    const eta = p.eta(bytes);
    if (eta < bestEta) {
      best = p;
      bestEta = eta;
    }
  }
  return best;
}

/**
 * Smooth weighted round robin (nginx's): every usable path gains its weight, the highest takes
 * the frame and pays the total. Over any run of frames each path gets its share, interleaved.
 * When the path whose turn it is is full, nobody sends: its share is what the mode promises.
 */
export function weightedTurn(paths: readonly Path[], bytes: number): Path | undefined {
  let total = 0;
  let best: Path | undefined;
  for (const p of paths) {
    if (!p.usable) continue;
    total += p.effectiveWeight;
    if (!best || p.current + p.effectiveWeight > best.current + best.effectiveWeight) best = p;
  }
  if (!best || !fits(best, bytes)) return undefined;
  for (const p of paths) if (p.usable) p.current += p.effectiveWeight;
  best.current -= total;
  return best;
}

/** autoWeights: what a path delivers per unit of cost, discounted by its RTT (100 ms halves it). */
export function derivedWeight(p: Path): number {
  return Math.max(0.01, p.rate / 1e6 / p.cost / (1 + p.srtt / 100));
}
