// The state store plugins keep data in (profiles, reputation, models, rules): one namespace per
// plugin, JSON values, optional expiry. Every call is async because a shared backend (Redis, for
// several Weaver instances) answers over the network; the default backend answers from memory
// at once and writes snapshots to SQLite, so a plugin keeps its own hot copy where it must be
// fast (an LRU in the hook path) and uses the store for what must outlive the process.

export interface StoreSetOptions {
  /** The entry expires this many ms from now (gone from reads, dropped at the next snapshot). */
  ttlMs?: number;
}

export interface PluginStore {
  /** The value stored under `key`, or undefined when there is none or it expired. */
  get<T = unknown>(key: string): Promise<T | undefined>;
  /** Stores a JSON-serializable value (a copy: later changes to the object are not seen). */
  set(key: string, value: unknown, opts?: StoreSetOptions): Promise<void>;
  /** True when there was an entry. */
  delete(key: string): Promise<boolean>;
  /** Live entries whose key starts with `prefix` (all when omitted), in no particular order. */
  entries<T = unknown>(prefix?: string): AsyncIterable<[string, T]>;
  /** Writes what changed to durable storage now; also done periodically and on stop. */
  flush(): Promise<void>;
}

/** What the process holds: one backend, a namespace per plugin name. */
export interface StateStore {
  namespace(name: string): PluginStore;
  flush(): Promise<void>;
  /** Flushes, then releases the backend. Namespaces must not be used after. */
  close(): Promise<void>;
}
