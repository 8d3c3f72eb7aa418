// NSL-KDD (UNB CIC): headerless CSV rows of 41 connection features, the label (`normal` or an
// attack name) and a difficulty level. This file reads the rows, maps attack names to the four
// categories of the KDD'99 taxonomy, and turns a row into numbers: protocol, service and flag
// one-hot (vocabulary from the training rows, anything unseen in the "other" slot), counts and
// byte totals log-scaled, rates as they are.
export const NSL_KDD_COLUMNS = [
  'duration', 'protocol_type', 'service', 'flag', 'src_bytes', 'dst_bytes', 'land', 'wrong_fragment', 'urgent', 'hot',
  'num_failed_logins', 'logged_in', 'num_compromised', 'root_shell', 'su_attempted', 'num_root', 'num_file_creations',
  'num_shells', 'num_access_files', 'num_outbound_cmds', 'is_host_login', 'is_guest_login', 'count', 'srv_count',
  'serror_rate', 'srv_serror_rate', 'rerror_rate', 'srv_rerror_rate', 'same_srv_rate', 'diff_srv_rate', 'srv_diff_host_rate',
  'dst_host_count', 'dst_host_srv_count', 'dst_host_same_srv_rate', 'dst_host_diff_srv_rate', 'dst_host_same_src_port_rate',
  'dst_host_srv_diff_host_rate', 'dst_host_serror_rate', 'dst_host_srv_serror_rate', 'dst_host_rerror_rate', 'dst_host_srv_rerror_rate',
] as const;

const SYMBOLIC = new Set([1, 2, 3]);

/**
 * What an L4/L7 proxy sees without reading payloads (see shared/data/README.md): duration,
 * protocol, service (≈ port), flag, bytes each way, and the window features 23–41.
 */
export const PROXY_VISIBLE = new Set<number>([0, 1, 2, 3, 4, 5, ...Array.from({ length: 19 }, (_, i) => 22 + i)]);

export type AttackCategory = 'normal' | 'DoS' | 'Probe' | 'R2L' | 'U2R' | 'unknown';

const CATEGORY: Record<string, AttackCategory> = {};
for (const [cat, names] of Object.entries({
  DoS: 'back land neptune pod smurf teardrop apache2 mailbomb processtable udpstorm',
  Probe: 'ipsweep nmap portsweep satan mscan saint',
  R2L: 'ftp_write guess_passwd imap multihop phf spy warezclient warezmaster sendmail named snmpgetattack snmpguess xlock xsnoop worm',
  U2R: 'buffer_overflow loadmodule perl rootkit ps sqlattack xterm httptunnel',
})) {
  for (const n of names.split(' ')) CATEGORY[n] = cat as AttackCategory;
}

export function attackCategory(label: string): AttackCategory {
  return label === 'normal' ? 'normal' : (CATEGORY[label] ?? 'unknown');
}

export interface NslKddRow {
  /** The 41 feature fields as read. */
  fields: string[];
  label: string;
  category: AttackCategory;
  /** The raw line, to find rows that two files share. */
  line: string;
}

export interface ParseResult {
  rows: NslKddRow[];
  skipped: number;
  errors: Array<{ line: number; message: string }>;
}

export function parseNslKdd(text: string): ParseResult {
  const out: ParseResult = { rows: [], skipped: 0, errors: [] };
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const f = line.split(',');
    let problem: string | undefined;
    if (f.length !== 42 && f.length !== 43) problem = `${f.length} fields, expected 42 or 43`;
    else {
      const bad = f.slice(0, 41).findIndex((v, c) => !SYMBOLIC.has(c) && !Number.isFinite(Number(v)));
      if (bad >= 0) problem = `${NSL_KDD_COLUMNS[bad]} is not a number: "${f[bad]!.slice(0, 20)}"`;
    }
    if (problem) {
      out.skipped++;
      if (out.errors.length < 20) out.errors.push({ line: i + 1, message: problem });
      return;
    }
    const label = f[41]!.replace(/\.$/, '');
    out.rows.push({ fields: f.slice(0, 41), label, category: attackCategory(label), line: f.slice(0, 42).join(',') });
  });
  return out;
}

/** Row → numbers. `fit` learns the symbolic vocabularies from training rows only. */
export class NslKddEncoder {
  private readonly columns: number[];
  private readonly vocab = new Map<number, Map<string, number>>();
  private width = 0;

  constructor(opts: { proxyVisibleOnly?: boolean } = {}) {
    this.columns = NSL_KDD_COLUMNS.map((_, c) => c).filter((c) => !opts.proxyVisibleOnly || PROXY_VISIBLE.has(c));
  }

  fit(rows: readonly NslKddRow[]): this {
    let width = 0;
    for (const c of this.columns) {
      if (!SYMBOLIC.has(c)) {
        width++;
        continue;
      }
      const values = [...new Set(rows.map((r) => r.fields[c]!))].sort();
      this.vocab.set(c, new Map(values.map((v, i) => [v, width + i])));
      width += values.length + 1; // + "other"
    }
    this.width = width;
    return this;
  }

  get dimensions(): number {
    return this.width;
  }

  encode(row: NslKddRow): Float64Array {
    const out = new Float64Array(this.width);
    let at = 0;
    for (const c of this.columns) {
      const v = row.fields[c]!;
      const vocab = this.vocab.get(c);
      if (vocab) {
        out[vocab.get(v) ?? at + vocab.size] = 1;
        at += vocab.size + 1;
      } else {
        const n = Number(v);
        out[at++] = NSL_KDD_COLUMNS[c]!.endsWith('_rate') ? n : Math.log1p(Math.max(0, n));
      }
    }
    return out;
  }
}
