// Decision constructors for plugin authors, and the check that a value a plugin returned is one.
import { PluginError } from '../errors.ts';
import type {
  AnyDecision,
  ContinueDecision,
  DelayDecision,
  PassthroughDecision,
  RejectDecision,
  RespondDecision,
  RouteDecision,
} from '../plugin/types.ts';

export const CONTINUE: ContinueDecision = Object.freeze({ action: 'continue' });

/** The longest delay a plugin may ask for; longer asks are bugs, not tarpits. */
export const MAX_DELAY_MS = 60_000;

export const decide = {
  continue: (): ContinueDecision => CONTINUE,
  reject: (reason: string, status?: number): RejectDecision =>
    status === undefined ? { action: 'reject', reason } : { action: 'reject', reason, status },
  route: (pool: string): RouteDecision => ({ action: 'route', pool }),
  passthrough: (upstream: string): PassthroughDecision => ({ action: 'passthrough', upstream }),
  delay: (ms: number): DelayDecision => ({ action: 'delay', ms }),
  respond: (status: number, body?: string | Uint8Array, headers?: Record<string, string>): RespondDecision => ({
    action: 'respond',
    status,
    ...(body === undefined ? {} : { body }),
    ...(headers === undefined ? {} : { headers }),
  }),
};

export type DecisionAction = AnyDecision['action'];

/**
 * Turns what a hook returned into a decision, or throws WEAVER_ERR_PLUGIN_BAD_DECISION.
 * `undefined`/`null` mean continue. Anything else must be a well-formed decision allowed here.
 */
export function checkDecision(plugin: string, phase: string, value: unknown, allowed: ReadonlySet<string>): AnyDecision {
  if (value === undefined || value === null) return CONTINUE;
  const bad = (why: string): never => {
    throw new PluginError('WEAVER_ERR_PLUGIN_BAD_DECISION', plugin, `${phase} returned ${describe(value)}: ${why}`);
  };
  if (typeof value !== 'object') return bad('expected a decision object or nothing');
  const d = value as Record<string, unknown>;
  const action = d.action;
  if (typeof action !== 'string' || !allowed.has(action)) {
    return bad(`action must be one of ${[...allowed].join(', ')}`);
  }
  switch (action) {
    case 'continue':
      return CONTINUE;
    case 'reject':
      if (typeof d.reason !== 'string' || d.reason.length === 0) bad('reject needs a reason');
      if (d.status !== undefined && !isStatus(d.status)) bad('reject status must be 400-599');
      return d as RejectDecision;
    case 'route':
      if (typeof d.pool !== 'string') bad('route needs a pool name');
      return d as RouteDecision;
    case 'passthrough':
      if (typeof d.upstream !== 'string') bad('passthrough needs an upstream name');
      return d as PassthroughDecision;
    case 'delay':
      if (typeof d.ms !== 'number' || !Number.isFinite(d.ms) || d.ms < 0 || d.ms > MAX_DELAY_MS) {
        bad(`delay needs ms from 0 to ${MAX_DELAY_MS}`);
      }
      return d as DelayDecision;
    case 'respond':
      if (typeof d.status !== 'number' || !Number.isInteger(d.status) || d.status < 200 || d.status > 599) {
        bad('respond needs a status from 200 to 599');
      }
      if (d.body !== undefined && typeof d.body !== 'string' && !(d.body instanceof Uint8Array)) {
        bad('respond body must be a string or bytes');
      }
      return d as RespondDecision;
    default:
      return bad('unknown action');
  }
}

function isStatus(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 400 && v <= 599;
}

function describe(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return Object.prototype.toString.call(v);
  }
}
