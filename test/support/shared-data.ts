// The shared test data lives beside the repo (../shared/data): in CI the repo is cloned fresh
// with shared/ next to it, so paths are always resolved from this file, never hard-coded.
import { fileURLToPath } from 'node:url';

const root = new URL('../../../shared/data/', import.meta.url);

/** Absolute path of `shared/data/<rel>`. */
export function sharedDataPath(rel: string): string {
  return fileURLToPath(new URL(rel, root));
}
