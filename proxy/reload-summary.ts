// What a reload reports: what changed, what it could not change in a running process.
import { isDeepStrictEqual } from 'node:util';
import type { WeaverConfig } from './config/schema.ts';
import { storeFile } from './store/open.ts';
import type { ListenerChanges } from './listeners.ts';

export interface ReloadSummary {
  file: string;
  /** 1 for the config started with, +1 for each reload applied. */
  generation: number;
  listeners: ListenerChanges;
  routes: number;
  upstreams: string[];
  plugins: string[];
  /** Connections still open on the runtime this reload retired; they finish on it. */
  draining: number;
  /** Keys whose new value only a restart applies; the running process keeps the old one. */
  restartRequired: string[];
}

/**
 * The admin listener, the demo origin, the worker count and the state store belong to the process, not to a
 * runtime: moving them under a live process would cut the admin call that asked for the reload
 * or the workers serving. The admin token is not here: it is read per request and applies at once.
 */
export function restartRequired(before: WeaverConfig, after: WeaverConfig): string[] {
  const keys: string[] = [];
  const { token: _a, ...adminBefore } = before.admin;
  const { token: _b, ...adminAfter } = after.admin;
  if (!isDeepStrictEqual(adminBefore, adminAfter)) keys.push('admin');
  if (!isDeepStrictEqual(before.demoOrigin, after.demoOrigin)) keys.push('demoOrigin');
  if (before.workers !== after.workers) keys.push('workers');
  // The state store is opened once per process (plugins of every runtime share it), so a new
  // file (stateDir or store.file) or snapshot interval waits for a restart.
  if (storeFile(before) !== storeFile(after) || before.store.snapshotIntervalMs !== after.store.snapshotIntervalMs) keys.push('store');
  return keys;
}
