// The audit log: JSON lines, append-only, each record carrying the SHA-256 of the one before
// (`prev`) and its own (`hash`, over the line's text before the hash field), so an edited,
// removed or reordered record breaks the chain (`weaver audit verify`). Rotated by size; the
// first record of a new file is a `rotate` record that continues the chain of the old one.
// Writes are synchronous: records are rare (rule changes, feed updates, denials aggregated
// per interval) and must land in order, even when the process dies just after.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export const GENESIS = '0'.repeat(64);
const HASH_TAIL = /,"hash":"([0-9a-f]{64})"\}$/;

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Splits a record line into the hashed text and the hash it claims; undefined if malformed. */
export function splitLine(line: string): { body: string; hash: string } | undefined {
  const m = HASH_TAIL.exec(line);
  if (!m) return undefined;
  return { body: `${line.slice(0, m.index)}}`, hash: m[1]! };
}

export interface AuditOptions {
  file: string;
  maxBytes: number;
  keep: number;
}

// One writer per file in the process: after a reload the old plugin instance (still serving its
// connections) and the new one append to the same chain instead of forking it.
const open = new Map<string, { log: AuditLog; refs: number }>();

export class AuditLog {
  /** The process's writer of `opts.file`, shared; each open() needs its own close(). */
  static open(opts: AuditOptions): AuditLog {
    let entry = open.get(opts.file);
    if (!entry) open.set(opts.file, (entry = { log: new AuditLog(opts), refs: 0 }));
    entry.refs++;
    return entry.log;
  }

  private fd: number;
  private size: number;
  private seq: number;
  private prev: string;
  private readonly opts: AuditOptions;

  private constructor(opts: AuditOptions) {
    this.opts = opts;
    mkdirSync(dirname(opts.file), { recursive: true });
    const tail = readTail(opts.file);
    this.fd = openSync(opts.file, 'a');
    this.size = tail.size;
    this.seq = tail.seq;
    this.prev = tail.hash;
  }

  /** Appends one record; `who` is `admin:<caller>`, `feed:<name>`, `analyzer`, `config` or `engine`. */
  append(type: string, who: string, data: Record<string, unknown> = {}): void {
    let line = this.line(type, who, data);
    if (this.size > 0 && this.size + line.length > this.opts.maxBytes) {
      this.rotate();
      line = this.line(type, who, data);
    }
    this.write(line);
  }

  close(): void {
    const entry = open.get(this.opts.file);
    if (entry && --entry.refs > 0) return;
    open.delete(this.opts.file);
    closeSync(this.fd);
  }

  private line(type: string, who: string, data: Record<string, unknown>): string {
    const body = JSON.stringify({ seq: this.seq + 1, ts: new Date().toISOString(), type, who, ...data, prev: this.prev });
    return `${body.slice(0, -1)},"hash":"${sha256(body)}"}\n`;
  }

  private write(line: string): void {
    const buf = Buffer.from(line);
    writeSync(this.fd, buf);
    this.size += buf.length;
    this.seq++;
    this.prev = splitLine(line.trimEnd())!.hash;
  }

  private rotate(): void {
    const { file, keep } = this.opts;
    closeSync(this.fd);
    const stem = basename(file).replace(/\.jsonl$/, '');
    const rotated = join(dirname(file), `${stem}.${String(this.seq).padStart(12, '0')}.jsonl`);
    renameSync(file, rotated);
    const old = readdirSync(dirname(file))
      .filter((f) => f.startsWith(`${stem}.`) && /\.\d{12}\.jsonl$/.test(f))
      .sort();
    for (const f of old.slice(0, Math.max(0, old.length - keep))) rmSync(join(dirname(file), f), { force: true });
    this.fd = openSync(file, 'a');
    this.size = 0;
    this.write(this.line('rotate', 'engine', { previous: basename(rotated) }));
  }
}

/** Where the chain of an existing file stands; a torn last line (a crash mid-write) is cut off. */
function readTail(file: string): { size: number; seq: number; hash: string } {
  if (!existsSync(file)) return { size: 0, seq: 0, hash: GENESIS };
  const fd = openSync(file, 'r+');
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, 256 * 1024);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const text = buf.toString('utf8');
    const end = text.lastIndexOf('\n');
    if (end < text.length - 1) ftruncateSync(fd, size - len + (end + 1));
    const lines = text.slice(0, end).split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      const parts = splitLine(lines[i]!);
      if (!parts) continue;
      const seq = (JSON.parse(parts.body) as { seq: number }).seq;
      return { size: size - len + end + 1, seq, hash: parts.hash };
    }
    return { size: size - len + end + 1, seq: 0, hash: GENESIS };
  } finally {
    closeSync(fd);
  }
}
