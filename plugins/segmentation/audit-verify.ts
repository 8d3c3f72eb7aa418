// Checks audit log files (given oldest first): every line parses, its hash matches its text,
// it names the previous record's hash and follows its sequence number. The first record of
// the first file must start the chain (seq 1) or be a `rotate` record continuing an older file.
import { readFileSync } from 'node:fs';
import { GENESIS, sha256, splitLine } from './audit.ts';

export interface VerifyResult {
  ok: boolean;
  records: number;
  /** The first bad record: file, 1-based line, its seq when readable, and what is wrong. */
  bad?: { file: string; line: number; seq: number | undefined; problem: string };
}

export function verifyAudit(files: readonly string[]): VerifyResult {
  let prev: string | undefined;
  let prevSeq = 0;
  let records = 0;
  for (const file of files) {
    const lines = readFileSync(file, 'utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    for (let i = 0; i < lines.length; i++) {
      const fail = (problem: string, seq?: number): VerifyResult => ({ ok: false, records, bad: { file, line: i + 1, seq, problem } });
      const parts = splitLine(lines[i]!);
      if (!parts) return fail('not an audit record (no hash field)');
      let rec: { seq?: unknown; prev?: unknown; type?: unknown };
      try {
        rec = JSON.parse(parts.body) as typeof rec;
      } catch {
        return fail('not valid JSON');
      }
      const seq = typeof rec.seq === 'number' ? rec.seq : undefined;
      if (sha256(parts.body) !== parts.hash) return fail('hash does not match the record (edited)', seq);
      if (seq === undefined || typeof rec.prev !== 'string') return fail('seq or prev missing', seq);
      if (prev === undefined) {
        if (!(seq === 1 && rec.prev === GENESIS) && rec.type !== 'rotate') return fail('the log does not start here: records before it are missing', seq);
      } else {
        if (rec.prev !== prev) return fail(`prev does not match record ${prevSeq}'s hash (a record was removed or moved)`, seq);
        if (seq !== prevSeq + 1) return fail(`seq ${seq} follows ${prevSeq}`, seq);
      }
      prev = parts.hash;
      prevSeq = seq;
      records++;
    }
  }
  return { ok: true, records };
}
