// The bonding bench's Markdown: goodput rows as a share of the paths' summed tbf rate, then the
// failover and reordering rows.

export interface GoodputRow {
  name: string;
  /** Null when the row could not be measured (`note` says why). */
  mbit: number | null;
  intact: boolean | null;
  note: string;
  /** False for rows that are not a share of the paths (the harness's own ceiling). */
  ofPaths?: boolean;
}

export interface TimingRow {
  name: string;
  value: string;
  intact: boolean | null;
  note: string;
}

export interface BondingReport {
  date: string;
  paths: number;
  rateMbit: number;
  goodput: GoodputRow[];
  timings: TimingRow[];
  notes: string[];
}

/** The run with the median goodput, intact only if every run was; `spread` is "min–max Mbit/s". */
export function medianRun<T extends { mbit: number; intact: boolean }>(runs: readonly T[]): T & { spread: string } {
  const sorted = [...runs].sort((a, b) => a.mbit - b.mbit);
  return {
    ...sorted[Math.floor(sorted.length / 2)]!,
    intact: runs.every((r) => r.intact),
    spread: `${sorted[0]!.mbit.toFixed(0)}–${sorted.at(-1)!.mbit.toFixed(0)}`,
  };
}

const yesNo = (v: boolean | null) => (v === null ? '—' : v ? 'yes' : '**NO**');

export function toMarkdown(r: BondingReport): string {
  const sum = r.paths * r.rateMbit;
  const lines = [
    `# Bonding bench — ${r.date}`,
    '',
    `${r.paths} paths of ${r.rateMbit} Mbit/s each (tbf on both ends of a veth between two network namespaces); sum ${sum} Mbit/s.`,
    'Goodput is payload bytes over the time from the first byte received to the last; "intact" compares SHA-256 of what was sent and received.',
    '',
    `| transfer | goodput Mbit/s | % of ${sum} Mbit/s | intact | note |`,
    '|---|---:|---:|:---:|---|',
    ...r.goodput.map((g) => `| ${g.name} | ${g.mbit === null ? '—' : g.mbit.toFixed(1)} | ${g.mbit === null || g.ofPaths === false ? '—' : `${((g.mbit / sum) * 100).toFixed(1)}%`} | ${yesNo(g.intact)} | ${g.note} |`),
    '',
    '| measurement | value | intact | note |',
    '|---|---:|:---:|---|',
    ...r.timings.map((m) => `| ${m.name} | ${m.value} | ${yesNo(m.intact)} | ${m.note} |`),
    '',
    ...r.notes.map((n) => `- ${n}`),
    '',
  ];
  return lines.join('\n');
}
