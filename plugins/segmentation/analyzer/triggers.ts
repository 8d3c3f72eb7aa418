// What each detector's observation means as a finding with a risk: the rule-based triggers on a
// source's window (no model needed, and what they say is plain), the baseline's and the
// supervised model's scores.
import type { Assessment } from './baseline.ts';
import { FLOW_FEATURES } from './features.ts';
import type { AnalyzerOptions } from './options.ts';
import type { SourceWindowStats } from './windows.ts';

export type Risk = 'low' | 'medium' | 'high';

export interface Finding {
  detector: 'scan' | 'handshake-failures' | 'baseline' | 'supervised';
  score: number;
  risk: Risk;
  reason: string;
}

/** high at twice the limit, medium at the limit. */
const byExcess = (value: number, limit: number): Risk => (value >= 2 * limit ? 'high' : 'medium');

export function windowFindings(w: SourceWindowStats, opts: AnalyzerOptions): Finding[] {
  const out: Finding[] = [];
  const secs = `${opts.windowMs / 1000} s`;
  const { distinctDestinations: dests, distinctPorts: ports } = opts.scan;
  if (w.distinctDestinations >= dests || w.distinctPorts >= ports) {
    const excess = Math.max(w.distinctDestinations / dests, w.distinctPorts / ports);
    out.push({
      detector: 'scan',
      score: Math.min(1, excess / 2),
      risk: excess >= 2 ? 'high' : 'medium',
      reason: `scan: ${w.distinctDestinations} distinct destinations and ${w.distinctPorts} distinct ports in ${secs}`,
    });
  }
  const hf = opts.handshakeFailures;
  if (w.failedHandshakes >= hf.count && w.failedHandshakeRate >= hf.rate) {
    out.push({
      detector: 'handshake-failures',
      score: Math.min(1, w.failedHandshakes / (2 * hf.count)),
      risk: byExcess(w.failedHandshakes, hf.count),
      reason: `handshake failures: ${w.failedHandshakes} of ${w.connections} connections in ${secs}`,
    });
  }
  return out;
}

/**
 * A segment baseline's view of one flow: an isolation score at or above the threshold is low risk,
 * medium 0.05 above it and high 0.1 above; a continuous feature half its training range beyond
 * that range (log-scaled: many times larger or smaller than anything seen) is medium, a whole
 * range beyond is high.
 */
export function baselineFindings(a: Assessment, segment: string): Finding[] {
  const out: Finding[] = [];
  if (a.score >= a.threshold) {
    out.push({
      detector: 'baseline', score: a.score,
      risk: a.score >= a.threshold + 0.1 ? 'high' : a.score >= a.threshold + 0.05 ? 'medium' : 'low',
      reason: `baseline: isolation score ${a.score.toFixed(3)} ≥ ${a.threshold.toFixed(3)} (segment ${segment})`,
    });
  }
  if (a.excess >= 0.5) {
    out.push({
      detector: 'baseline', score: Math.min(1, 0.5 + a.excess / 2), risk: a.excess >= 1 ? 'high' : 'medium',
      reason: `baseline: ${FLOW_FEATURES[a.feature]} is ${a.excess.toFixed(1)} ranges beyond what segment ${segment} does`,
    });
  }
  return out;
}

/** The supervised model's probability of malice: low at the threshold, medium halfway to 1, high at 0.99. */
export function supervisedFindings(p: number, threshold: number): Finding[] {
  if (p < threshold) return [];
  const risk: Risk = p >= 0.99 ? 'high' : p >= (threshold + 1) / 2 ? 'medium' : 'low';
  return [{ detector: 'supervised', score: p, risk, reason: `supervised: malicious with probability ${p.toFixed(3)} ≥ ${threshold}` }];
}
