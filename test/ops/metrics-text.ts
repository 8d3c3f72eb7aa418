// Reading docs/metrics.md's tables and a /metrics answer, so tests can hold the two together.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support/run-weaver.ts';

export interface DocumentedMetric {
  name: string;
  type: string;
  labels: string[];
}

/** The rows of the table under the `## <heading>` of docs/metrics.md. */
export function documentedMetrics(heading: string): DocumentedMetric[] {
  const doc = readFileSync(join(repoRoot, 'docs/metrics.md'), 'utf8');
  const start = doc.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`docs/metrics.md has no "## ${heading}"`);
  const next = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, next === -1 ? undefined : next);
  const rows: DocumentedMetric[] = [];
  for (const line of section.split('\n')) {
    const m = /^\| `([a-z_:][a-z0-9_:]*)` \| (counter|gauge|histogram|summary) \|([^|]*)\| .+ \|$/.exec(line);
    if (!m) continue;
    const labels = m[3]!.split(',').map((l) => l.trim()).filter(Boolean);
    rows.push({ name: m[1]!, type: m[2]!, labels });
  }
  return rows;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
  /** Lines that are neither a comment nor `name{labels} value`. */
  bad: string[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.]+(?:e[+-]?[0-9]+)?|NaN|[+-]Inf)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"/g;

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const bad: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# ')) {
      const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (type) types.set(type[1]!, type[2]!);
      else if (!/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) bad.push(line);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) {
      bad.push(line);
      continue;
    }
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { types, samples, bad };
}

/** Samples of a metric; a histogram's are its _bucket, _sum and _count series. */
export function samplesOf(exp: Exposition, name: string): Sample[] {
  return exp.samples.filter((s) => s.name === name || s.name === `${name}_bucket` || s.name === `${name}_sum` || s.name === `${name}_count`);
}

/** Sum of a metric's samples whose labels include `match`. */
export function total(exp: Exposition, name: string, match: Record<string, string> = {}): number {
  return exp.samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}
