// Fingerprint lists: known-bad (malware, C2) and known-good (browsers, libraries) JA3 and JA4.
// Formats are recognised from the content, so the public files can be used as they come:
//   - abuse.ch SSLBL JA3 CSV        `ja3_md5,Firstseen,Lastseen,Listingreason` → bad
//   - salesforce JA3 CSV            `ja3_md5,"application"`                    → good
//   - trisul JA3 JSON lines         `{desc, ja3_hash}`  → bad when desc starts with "Malware"
//   - FoxIO JA4+ mapping CSV        header with `ja4`   → bad when the application names malware or C2
//   - ja4db JSON array              `{application, ja4_fingerprint}`           → good
//   - plain text                    one JA3 (32 hex) or JA4 per line, `,label` optional
// An entry of the config may force a label on every row of its file.
// A fingerprint listed both bad and good (24 SSLBL JA3s are also Chrome, Java, Slack…) is
// "ambiguous": a weak signal, never enough on its own to act on a browser.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { splitCsvLine } from 'weaver';

export type ListLabel = 'bad' | 'good';

export interface ListHit {
  verdict: 'bad' | 'good' | 'ambiguous';
  /** What the lists call it ("Dridex", "Chrome 61"…), first of each side. */
  bad?: string;
  good?: string;
}

export interface ListSource {
  file: string;
  label?: ListLabel;
}

const MALWARE = /malware|trojan|\bc2\b|cobalt|sliver|icedid|qakbot|pikabot|darkgate|lumma|beacon|dropper|\brat\b|botnet|ransom|stealer|loader/i;
const JA3 = /^[0-9a-f]{32}$/;
const JA4 = /^[tqd][0-9s][0-9][di][0-9]{4}[0-9a-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$/;

export class FingerprintLists {
  private readonly bad = new Map<string, string>();
  private readonly good = new Map<string, string>();
  /** Rows read per file, for the admin API. */
  readonly loaded: Array<{ file: string; bad: number; good: number }> = [];
  /** Bumped on every change, so what was worked out from a lookup (see shape.ts) knows to redo it. */
  version = 0;

  add(print: string, label: ListLabel, name: string): void {
    const key = print.trim().toLowerCase();
    if (!JA3.test(key) && !JA4.test(key)) return;
    const side = label === 'bad' ? this.bad : this.good;
    if (!side.has(key)) side.set(key, name);
    this.version++;
  }

  remove(print: string, label: ListLabel): void {
    if ((label === 'bad' ? this.bad : this.good).delete(print.toLowerCase())) this.version++;
  }

  lookup(print: string): ListHit | undefined {
    const bad = this.bad.get(print);
    const good = this.good.get(print);
    if (bad === undefined && good === undefined) return undefined;
    if (bad !== undefined && good !== undefined) return { verdict: 'ambiguous', bad, good };
    return bad !== undefined ? { verdict: 'bad', bad } : { verdict: 'good', good: good! };
  }

  get sizes(): { bad: number; good: number } {
    return { bad: this.bad.size, good: this.good.size };
  }

  /** Reads one file; relative paths are against `baseDir`. Throws with the file name on a bad file. */
  load(source: ListSource, baseDir: string): void {
    const file = isAbsolute(source.file) ? source.file : resolve(baseDir, source.file);
    const text = readFileSync(file, 'utf8');
    const before = this.sizes;
    for (const [print, label, name] of parseList(text)) this.add(print, source.label ?? label, name);
    const after = this.sizes;
    this.loaded.push({ file, bad: after.bad - before.bad, good: after.good - before.good });
  }
}

type Row = [print: string, label: ListLabel, name: string];

export function parseList(text: string): Row[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) return parseJa4db(JSON.parse(trimmed) as unknown[]);
  const lines = text.split(/\r?\n/);
  if (lines.some((l) => l.startsWith('{"'))) return parseJsonLines(lines);
  const header = lines.find((l) => l.trim() !== '' && !l.startsWith('#'));
  if (header && /(^|,)ja4(,|$)/i.test(header)) return parseJa4Mapping(lines);
  return parseCsvLike(lines);
}

function parseJa4db(rows: unknown[]): Row[] {
  const out: Row[] = [];
  for (const r of rows as Array<Record<string, unknown>>) {
    const print = r.ja4_fingerprint;
    if (typeof print !== 'string') continue;
    const name = String(r.application ?? r.library ?? 'ja4db').trim();
    out.push([print, MALWARE.test(name) ? 'bad' : 'good', name]);
  }
  return out;
}

function parseJsonLines(lines: string[]): Row[] {
  const out: Row[] = [];
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    const r = JSON.parse(line) as { desc?: string; ja3_hash?: string };
    if (!r.ja3_hash) continue;
    const desc = r.desc ?? '';
    out.push([r.ja3_hash, /^malware/i.test(desc) || MALWARE.test(desc) ? 'bad' : 'good', desc]);
  }
  return out;
}

function parseJa4Mapping(lines: string[]): Row[] {
  const rows = lines.filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const head = splitCsvLine(rows[0]!).map((h) => h.toLowerCase());
  const col = head.indexOf('ja4');
  const app = head.indexOf('application');
  const lib = head.indexOf('library');
  const notes = head.indexOf('notes');
  const out: Row[] = [];
  for (const line of rows.slice(1)) {
    const f = splitCsvLine(line);
    const print = f[col];
    if (!print) continue;
    const name = [f[app], f[lib]].filter(Boolean).join(' / ') || 'ja4 mapping';
    const bad = MALWARE.test(f[app] ?? '') || MALWARE.test(f[notes] ?? '');
    out.push([print, bad ? 'bad' : 'good', name]);
  }
  return out;
}

/** SSLBL (4 fields, a listing reason: bad), salesforce (2 fields: good), or plain lines. */
function parseCsvLike(lines: string[]): Row[] {
  const out: Row[] = [];
  for (const line of lines) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const f = splitCsvLine(line);
    const print = f[0]!.toLowerCase();
    if (!JA3.test(print) && !JA4.test(print)) continue;
    if (f.length >= 4) out.push([print, 'bad', f[3] || 'sslbl']);
    else if (f.length === 2 && f[1] !== 'bad' && f[1] !== 'good') out.push([print, 'good', f[1]!]);
    else out.push([print, f[1] === 'good' ? 'good' : 'bad', f[1] ?? 'list']);
  }
  return out;
}
