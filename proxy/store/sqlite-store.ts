// The default state store: every namespace lives in memory (values kept as JSON text, so a
// stored value cannot change under the store and its size is known) and changed keys are
// written to SQLite (`node:sqlite`, WAL) every `snapshotIntervalMs`, on flush() and on close.
// Opening the file loads what the last run left. Writes are batched a few thousand rows per
// transaction with a turn of the event loop between batches, so a large snapshot never stalls
// connections for long. With several worker processes on one file each writes the keys it
// changed; the last writer of a key wins (a shared backend is the answer for real sharing).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { PluginStore, StateStore, StoreSetOptions } from './types.ts';

interface Entry {
  json: string;
  /** Epoch ms, 0 = never. */
  expiresAt: number;
}

export interface SqliteStoreOptions {
  file: string;
  snapshotIntervalMs: number;
  /** Rows per write transaction. */
  batchSize?: number;
}

const SEP = '\u0000';
const BUSY_TIMEOUT_MS = 5_000;
const SQLITE_BUSY = 5;
/** Never notified: Atomics.wait on it is a plain blocking sleep. */
const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));

/**
 * Several workers opening a new file each hold a read lock while asking for the write lock
 * that switching to WAL needs; SQLite answers one of them "locked" at once instead of waiting
 * into that deadlock. The loser lets go, waits a moment and asks again. A file already in WAL
 * mode needs no lock for this, so the retry only ever runs on a file's first boot.
 */
function switchToWal(db: DatabaseSync, deadline: number): void {
  for (let delayMs = 5; ; delayMs = Math.min(delayMs * 2, 100)) {
    try {
      db.exec('PRAGMA journal_mode = WAL');
      return;
    } catch (err) {
      const code = (err as { errcode?: number }).errcode;
      if (code === undefined || (code & 0xff) !== SQLITE_BUSY || Date.now() + delayMs > deadline) throw err;
      // Boot, before any connection is served: a blocking wait holds up nobody.
      Atomics.wait(SLEEP_CELL, 0, 0, delayMs);
    }
  }
}

export class SqliteStateStore implements StateStore {
  private readonly db: DatabaseSync;
  private readonly data = new Map<string, Map<string, Entry>>();
  /** `ns\0key` of entries set or deleted since the last snapshot. */
  private dirty = new Set<string>();
  private readonly upsert: StatementSync;
  private readonly remove: StatementSync;
  private readonly timer: NodeJS.Timeout;
  private readonly batchSize: number;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(opts: SqliteStoreOptions) {
    mkdirSync(dirname(opts.file), { recursive: true, mode: 0o700 });
    // Workers open the same file at the same moment, so the busy timeout must be in force
    // before the first statement, not set by it.
    this.db = new DatabaseSync(opts.file, { timeout: BUSY_TIMEOUT_MS });
    switchToWal(this.db, Date.now() + BUSY_TIMEOUT_MS);
    this.db.exec('PRAGMA synchronous = NORMAL;');
    this.load();
    this.upsert = this.db.prepare('INSERT INTO kv (ns, key, value, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at');
    this.remove = this.db.prepare('DELETE FROM kv WHERE ns = ? AND key = ?');
    this.batchSize = opts.batchSize ?? 2_000;
    this.timer = setInterval(() => void this.flush().catch(() => undefined), opts.snapshotIntervalMs);
    this.timer.unref();
  }

  static open(opts: SqliteStoreOptions): SqliteStateStore {
    return new SqliteStateStore(opts);
  }

  /** Creates the table on a new file, drops what expired while nobody ran, and loads the rest. */
  private load(): void {
    const now = Date.now();
    this.write(() => {
      this.db.exec(
        'CREATE TABLE IF NOT EXISTS kv (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (ns, key)) WITHOUT ROWID',
      );
      this.db.prepare('DELETE FROM kv WHERE expires_at > 0 AND expires_at <= ?').run(now);
    });
    for (const row of this.db.prepare('SELECT ns, key, value, expires_at FROM kv').iterate()) {
      const r = row as { ns: string; key: string; value: string; expires_at: number };
      this.space(r.ns).set(r.key, { json: r.value, expiresAt: Number(r.expires_at) });
    }
  }

  private space(ns: string): Map<string, Entry> {
    let m = this.data.get(ns);
    if (!m) this.data.set(ns, (m = new Map()));
    return m;
  }

  namespace(name: string): PluginStore {
    if (name.includes(SEP)) throw new TypeError('a store namespace cannot contain NUL');
    const space = this.space(name);
    const markDirty = (key: string): void => void this.dirty.add(name + SEP + key);
    const assertOpen = (): void => this.assertOpen();
    const live = (key: string): Entry | undefined => {
      const e = space.get(key);
      if (e && e.expiresAt !== 0 && e.expiresAt <= Date.now()) {
        space.delete(key);
        markDirty(key);
        return undefined;
      }
      return e;
    };
    return {
      async get<T>(key: string): Promise<T | undefined> {
        const e = live(key);
        return e === undefined ? undefined : (JSON.parse(e.json) as T);
      },
      async set(key: string, value: unknown, opts?: StoreSetOptions): Promise<void> {
        assertOpen();
        const json = JSON.stringify(value);
        if (json === undefined) throw new TypeError(`store: value for "${key}" is not JSON-serializable`);
        const ttl = opts?.ttlMs;
        space.set(key, { json, expiresAt: ttl !== undefined && ttl > 0 ? Date.now() + ttl : 0 });
        markDirty(key);
      },
      async delete(key: string): Promise<boolean> {
        assertOpen();
        const had = live(key) !== undefined;
        space.delete(key);
        markDirty(key);
        return had;
      },
      async *entries<T>(prefix = ''): AsyncIterable<[string, T]> {
        // A copy of the keys: the caller may set or delete while it iterates.
        for (const key of [...space.keys()]) {
          if (!key.startsWith(prefix)) continue;
          const e = live(key);
          if (e !== undefined) yield [key, JSON.parse(e.json) as T];
        }
      },
      flush: () => this.flush(),
    };
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('store: closed');
  }

  /** Writes the keys changed since the last snapshot. Snapshots run one at a time. */
  flush(): Promise<void> {
    const run = this.writing.then(() => this.snapshot());
    this.writing = run.catch(() => undefined);
    return run;
  }

  private async snapshot(): Promise<void> {
    this.sweepExpired();
    if (this.dirty.size === 0) return;
    const keys = [...this.dirty];
    this.dirty = new Set();
    try {
      for (let i = 0; i < keys.length; i += this.batchSize) {
        if (i > 0) await new Promise<void>((r) => setImmediate(r));
        this.writeBatch(keys.slice(i, i + this.batchSize));
      }
    } catch (err) {
      // Not written: keep them for the next snapshot.
      for (const k of keys) this.dirty.add(k);
      throw err;
    }
  }

  /** Expired entries nobody read again would stay in memory for ever without this. */
  private sweepExpired(): void {
    const now = Date.now();
    for (const [ns, space] of this.data) {
      for (const [key, e] of space) {
        if (e.expiresAt !== 0 && e.expiresAt <= now) {
          space.delete(key);
          this.dirty.add(ns + SEP + key);
        }
      }
    }
  }

  private writeBatch(keys: string[]): void {
    this.write(() => {
      for (const full of keys) {
        const at = full.indexOf(SEP);
        const ns = full.slice(0, at);
        const key = full.slice(at + 1);
        const e = this.data.get(ns)?.get(key);
        if (e) this.upsert.run(ns, key, e.json, e.expiresAt);
        else this.remove.run(ns, key);
      }
    });
  }

  /** `fn` in one write transaction, rolled back if it throws. */
  private write(fn: () => void): void {
    // IMMEDIATE takes the write lock up front, where the busy timeout applies; a deferred
    // transaction that another worker's commit overtakes fails at once instead.
    this.db.exec('BEGIN IMMEDIATE');
    try {
      fn();
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
    this.db.close();
  }
}
