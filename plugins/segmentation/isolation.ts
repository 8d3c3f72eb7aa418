// The analyzer's anomalies as isolate rules: one rule per source (`iso-<address>`), with the
// anomaly's risk, its reasons and an expiry by risk, written by `analyzer`. A source reported
// again at a higher risk gets its rule replaced.
import type { AnomalyEvent } from './analyzer/analyzer.ts';
import type { Controller } from './controller.ts';

export interface IsolationOptions {
  enabled: boolean;
  priority: number;
  minRisk: 'low' | 'medium' | 'high';
}

const RANK = { low: 0, medium: 1, high: 2 } as const;

export function isolate(ctl: Controller, e: AnomalyEvent, o: IsolationOptions): string | undefined {
  if (!o.enabled || RANK[e.risk] < RANK[o.minRisk]) return undefined;
  const id = `iso-${e.source.replace(/[^A-Za-z0-9._:-]/g, '_')}`.slice(0, 128);
  const rule = {
    from: { cidr: e.source },
    action: 'isolate',
    priority: o.priority,
    ttlMs: e.expiresInMs,
    risk: e.risk,
    reason: `${e.detector} (score ${e.score.toFixed(2)}): ${e.reasons.join('; ')}`.slice(0, 500),
  };
  if (ctl.engine.rules.has(id)) ctl.changeRule(id, rule, 'analyzer');
  else ctl.addRule({ id, ...rule }, 'analyzer');
  return id;
}
