// Labelled flow records as JSON lines — a FlowRecord plus `label` ("normal" or what the attack
// was) and optionally `category` — for training the supervised model and for
// `weaver ata evaluate --format jsonl`. Features are computed by replaying the flows in time
// order through fresh per-source windows, exactly as the live analyzer would have seen them.
import { parseJsonObject } from '../json-object.ts';
import { flowFeatures } from './features.ts';
import type { FlowRecord } from './flow.ts';
import type { AnalyzerOptions } from './options.ts';
import { SourceWindows } from './windows.ts';

export interface LabelledFlowLine {
  flow: FlowRecord;
  label: string;
  category: string;
  /** The line as read, to find rows two files share. */
  key: string;
}

const NUMBERS = ['port', 'endedAt', 'durationMs', 'bytesIn', 'bytesOut', 'requests', 'errors'] as const;

export function parseLabelledFlows(text: string): { rows: LabelledFlowLine[]; skipped: number; errors: Array<{ line: number; message: string }> } {
  const out = { rows: [] as LabelledFlowLine[], skipped: 0, errors: [] as Array<{ line: number; message: string }> };
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const problem = check(line);
    if (typeof problem === 'string') {
      out.skipped++;
      if (out.errors.length < 20) out.errors.push({ line: i + 1, message: problem });
      return;
    }
    const { label, category, ...flow } = problem;
    out.rows.push({ flow: flow as unknown as FlowRecord, label, category: category ?? (label === 'normal' ? 'normal' : label), key: line });
  });
  return out;
}

function check(line: string): (Record<string, unknown> & { label: string; category?: string }) | string {
  const r = parseJsonObject(line);
  if (typeof r === 'string') return r;
  if (typeof r.label !== 'string' || r.label === '') return 'no "label"';
  if (r.category !== undefined && typeof r.category !== 'string') return '"category" is not a string';
  if (typeof r.source !== 'string' || typeof r.destination !== 'string') return 'no "source" or "destination" string';
  for (const k of NUMBERS) if (typeof r[k] !== 'number' || !Number.isFinite(r[k])) return `"${k}" is not a number`;
  if (r.handshake !== 'ok' && r.handshake !== 'failed' && r.handshake !== 'none') return '"handshake" is not ok, failed or none';
  return r as Record<string, unknown> & { label: string; category?: string };
}

/** Feature rows, in the order of `rows`, from a replay in endedAt order. */
export function replayFeatures(rows: ReadonlyArray<{ flow: FlowRecord }>, opts: Pick<AnalyzerOptions, 'windowMs' | 'maxSources' | 'maxFlowsPerSource'>): Float64Array[] {
  const windows = new SourceWindows(opts);
  const out = new Array<Float64Array>(rows.length);
  const order = rows.map((_, i) => i).sort((a, b) => rows[a]!.flow.endedAt - rows[b]!.flow.endedAt);
  for (const i of order) out[i] = flowFeatures(rows[i]!.flow, windows.record(rows[i]!.flow));
  return out;
}
