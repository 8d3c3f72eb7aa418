import { basename, extname } from 'node:path';
import type { PluginEntryConfig } from './schema.ts';

/** A plugin's name: the one given, else the basename of `use` without its extension. */
export function pluginName(entry: Pick<PluginEntryConfig, 'use' | 'name'>): string {
  if (entry.name !== undefined) return entry.name;
  const base = basename(entry.use);
  return base.slice(0, base.length - extname(base).length) || base;
}
