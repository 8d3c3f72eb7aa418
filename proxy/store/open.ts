// Where the process's state store lives, and opening it.
import { isAbsolute, resolve } from 'node:path';
import type { WeaverConfig } from '../config/schema.ts';
import { SqliteStateStore } from './sqlite-store.ts';
import type { StateStore } from './types.ts';

/** `store.file` resolved against `stateDir` (itself already resolved against the config file). */
export function storeFile(config: WeaverConfig): string {
  return isAbsolute(config.store.file) ? config.store.file : resolve(config.stateDir, config.store.file);
}

export function openStateStore(config: WeaverConfig): StateStore {
  return SqliteStateStore.open({ file: storeFile(config), snapshotIntervalMs: config.store.snapshotIntervalMs });
}
