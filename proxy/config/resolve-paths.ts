// File paths in the config are relative to the config file, not to wherever weaver was started.
import { isAbsolute, resolve } from 'node:path';
import type { WeaverConfig } from './schema.ts';

function against(dir: string, file: string): string {
  return isAbsolute(file) ? file : resolve(dir, file);
}

/** Resolves paths in place and names every plugin; `dir` is the config file's directory. */
export function resolveConfigPaths(config: WeaverConfig, dir: string): void {
  config.stateDir = against(dir, config.stateDir);
  for (const pool of Object.values(config.handshakePools)) {
    if (pool.kind !== 'local') continue;
    if (pool.clientCa !== undefined) pool.clientCa = against(dir, pool.clientCa);
    for (const entry of pool.certificates) {
      if ('dev' in entry) continue;
      entry.cert = against(dir, entry.cert);
      entry.key = against(dir, entry.key);
    }
  }
  for (const plugin of config.plugins) {
    // Only explicit relative paths: anything else is a package name for the module resolver.
    if (plugin.use.startsWith('./') || plugin.use.startsWith('../')) plugin.use = resolve(dir, plugin.use);
  }
}
