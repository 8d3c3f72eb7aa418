// The bonding policy: mode, failback, and per channel weight, cost, priority and drain. The
// edge owns it (config + admin API) and sends it to the endpoint (in the create hello, then in
// a SETTINGS frame on every change), so both directions of a session bond the same way.
import { MODES, type BondMode } from './options.ts';
import type { Path } from './path.ts';

export interface ChannelPolicy {
  weight: number;
  cost: number;
  priority: number;
  draining: boolean;
}

export interface Policy {
  mode: BondMode;
  autoWeights: boolean;
  failbackMs: number;
  channels: Record<string, ChannelPolicy>;
}

export function channelPolicy(p: Path): ChannelPolicy {
  return { weight: p.weight, cost: p.cost, priority: p.priority, draining: p.draining };
}

export function applyChannelPolicy(p: Path, c: ChannelPolicy): void {
  p.weight = c.weight;
  p.cost = c.cost;
  p.priority = c.priority;
  p.draining = c.draining;
  p.effectiveWeight = c.weight;
}

const num = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max;

/** A policy from the peer, checked field by field; undefined when anything is off. */
export function parsePolicy(v: unknown): Policy | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (!MODES.includes(o.mode as BondMode) || typeof o.autoWeights !== 'boolean' || !num(o.failbackMs, 0, 86_400_000)) return undefined;
  if (typeof o.channels !== 'object' || o.channels === null) return undefined;
  const channels: Record<string, ChannelPolicy> = {};
  const entries = Object.entries(o.channels as Record<string, unknown>);
  if (entries.length > 16) return undefined;
  for (const [name, c] of entries) {
    const x = c as Record<string, unknown> | null;
    if (!x || !num(x.weight, 1, 1000) || !num(x.cost, 0.01, 1000) || !num(x.priority, 0, 1000) || typeof x.draining !== 'boolean') return undefined;
    channels[name] = { weight: x.weight, cost: x.cost, priority: x.priority, draining: x.draining };
  }
  return { mode: o.mode as BondMode, autoWeights: o.autoWeights, failbackMs: o.failbackMs, channels };
}
