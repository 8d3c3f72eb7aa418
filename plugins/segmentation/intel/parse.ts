// Threat-intel feeds in their native formats. A bad line is skipped and counted (with its line
// number, the first few kept for the log and the admin API) so one odd line does not cost the
// whole feed; a file that is too large, of a format that cannot be told, or with no usable line
// at all is an error, and the caller keeps its last good copy.
import { splitCsvLine } from 'weaver';
import { parseJsonObject } from '../json-object.ts';
import { parseCidr } from './cidr.ts';
import type { FeedEntry } from './entries.ts';
import { IntelError } from './errors.ts';

export type FeedFormat = 'firehol-netset' | 'spamhaus-drop' | 'spamhaus-drop-json' | 'sslbl-ja3-csv' | 'feodo-csv' | 'plain';
export const FEED_FORMATS: readonly FeedFormat[] = ['firehol-netset', 'spamhaus-drop', 'spamhaus-drop-json', 'sslbl-ja3-csv', 'feodo-csv', 'plain'];

export interface FeedLineError {
  /** 1-based. */
  line: number;
  message: string;
}

export interface ParsedFeed {
  format: FeedFormat;
  /** De-duplicated, in file order. */
  entries: FeedEntry[];
  /** Bad lines, skipped. */
  skipped: number;
  /** The first MAX_KEPT_ERRORS of them. */
  errors: FeedLineError[];
}

export interface FeedLimits {
  maxBytes?: number;
  maxLines?: number;
  maxEntries?: number;
}

export const DEFAULT_LIMITS: Required<FeedLimits> = { maxBytes: 32 * 1024 * 1024, maxLines: 1_000_000, maxEntries: 500_000 };
const MAX_KEPT_ERRORS = 20;
const JA3 = /^[0-9a-f]{32}$/i;

/** A line's entry, `null` for a line that carries none (comment, header, metadata), or an error. */
type LineResult = FeedEntry | null | string;
type LineParser = (line: string) => LineResult;

export function parseFeed(text: string, format: FeedFormat | 'auto', source: string, limits: FeedLimits = {}): ParsedFeed {
  const max = { ...DEFAULT_LIMITS, ...limits };
  const bytes = Buffer.byteLength(text);
  if (bytes > max.maxBytes) throw new IntelError('WEAVER_ERR_INTEL_TOO_LARGE', `${source}: ${bytes} bytes, over the limit of ${max.maxBytes}`);
  const lines = text.split(/\r?\n/);
  if (lines.length > max.maxLines) throw new IntelError('WEAVER_ERR_INTEL_TOO_LARGE', `${source}: ${lines.length} lines, over the limit of ${max.maxLines}`);
  const used = format === 'auto' ? detectFormat(text, source) : format;
  const parseLine = lineParser(used);
  const seen = new Set<string>();
  const result: ParsedFeed = { format: used, entries: [], skipped: 0, errors: [] };
  let dataLines = 0;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const r = parseLine(line);
    if (r === null) return;
    dataLines++;
    if (typeof r === 'string') {
      result.skipped++;
      if (result.errors.length < MAX_KEPT_ERRORS) result.errors.push({ line: i + 1, message: r });
      return;
    }
    const key = r.kind === 'cidr' ? r.cidr : r.ja3;
    if (seen.has(key)) return;
    seen.add(key);
    if (result.entries.length >= max.maxEntries) {
      throw new IntelError('WEAVER_ERR_INTEL_TOO_LARGE', `${source}: more than ${max.maxEntries} entries`);
    }
    result.entries.push(r);
  });
  if (dataLines > 0 && result.entries.length === 0) {
    const first = result.errors[0];
    throw new IntelError('WEAVER_ERR_INTEL_FORMAT', `${source}: no usable line as ${used} (line ${first?.line}: ${first?.message})`);
  }
  return result;
}

/** Tells the format from the content; throws when it cannot. */
export function detectFormat(text: string, source = 'feed'): FeedFormat {
  const head = text.slice(0, 64 * 1024);
  const lines = head.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  const comments = lines.filter((l) => l.startsWith('#')).join('\n');
  const data = lines.filter((l) => !l.startsWith('#') && !l.startsWith(';'));
  const first = data[0] ?? '';
  if (first.startsWith('{') && /"cidr"\s*:/.test(first)) return 'spamhaus-drop-json';
  if (/dst_?ip/i.test(first) || /feodo\s*tracker/i.test(comments)) return 'feodo-csv';
  if (/ja3_md5\s*,\s*firstseen/i.test(comments) || /^[0-9a-f]{32},[^,]*,[^,]*,/i.test(first)) return 'sslbl-ja3-csv';
  if (lines.some((l) => l.startsWith(';')) || /^\S+\s*;\s*SBL\d+/i.test(first)) return 'spamhaus-drop';
  if (/ipset|firehol|netset/i.test(comments)) return 'firehol-netset';
  const sample = data.slice(0, 50);
  if (sample.length > 0 && sample.every((l) => typeof plainLine(l) !== 'string')) return 'plain';
  if (sample.length === 0) return 'plain';
  throw new IntelError('WEAVER_ERR_INTEL_FORMAT', `${source}: cannot tell the feed format (first data line: "${first.slice(0, 80)}"); set format`);
}

function lineParser(format: FeedFormat): LineParser {
  switch (format) {
    case 'firehol-netset':
      return (l) => (l.startsWith('#') ? null : cidrEntry(l));
    case 'spamhaus-drop':
      return (l) => {
        if (l.startsWith(';')) return null;
        const [cidr = '', note] = l.split(';').map((s) => s.trim());
        return cidrEntry(cidr, note || undefined);
      };
    case 'spamhaus-drop-json':
      return jsonLine;
    case 'sslbl-ja3-csv':
      return (l) => {
        if (l.startsWith('#')) return null;
        const f = l.split(',').map((s) => s.trim());
        if (!JA3.test(f[0]!)) return `not a JA3 hash: "${f[0]!.slice(0, 40)}"`;
        return { kind: 'ja3', ja3: f[0]!.toLowerCase(), ...(f[3] ? { note: f[3] } : {}) };
      };
    case 'feodo-csv':
      return feodoParser();
    case 'plain':
      return (l) => (l.startsWith('#') || l.startsWith(';') ? null : plainLine(l));
  }
}

function cidrEntry(text: string, note?: string): LineResult {
  const c = parseCidr(text);
  if (typeof c === 'string') return c;
  return { kind: 'cidr', ...c, ...(note ? { note } : {}) };
}

/** One address, prefix or JA3 first; anything after a space, tab or comma is a note. */
function plainLine(line: string): LineResult {
  const m = /^([^\s,]+)[\s,]*(.*)$/.exec(line)!;
  const [token, rest] = [m[1]!, m[2]!.replace(/^[#;]\s*/, '').trim()];
  if (JA3.test(token)) return { kind: 'ja3', ja3: token.toLowerCase(), ...(rest ? { note: rest } : {}) };
  return cidrEntry(token, rest || undefined);
}

function jsonLine(line: string): LineResult {
  const r = parseJsonObject(line);
  if (typeof r === 'string') return 'not a JSON object';
  if (r.type === 'metadata') return null;
  if (typeof r.cidr !== 'string') return 'no "cidr" string';
  return cidrEntry(r.cidr, typeof r.sblid === 'string' ? r.sblid : undefined);
}

/** abuse.ch Feodo CSV: columns named by its header line (commented in some editions). */
function feodoParser(): LineParser {
  let ip = 1;
  let port = 2;
  let malware = 5;
  return (line) => {
    const bare = line.replace(/^#\s*/, '');
    if (/dst_?ip/i.test(bare)) {
      const head = splitCsvLine(bare).map((h) => h.toLowerCase().replace(/_/g, ''));
      ip = head.indexOf('dstip');
      port = head.indexOf('dstport');
      malware = head.indexOf('malware');
      return null;
    }
    if (line.startsWith('#')) return null;
    const f = splitCsvLine(line);
    const address = f[ip];
    if (!address) return `no dst_ip in column ${ip + 1}`;
    const note = [f[malware], f[port] ? `port ${f[port]}` : ''].filter(Boolean).join(' ');
    return cidrEntry(address, note || undefined);
  };
}
