// Loading a configuration file: YAML → defaults → schema → cross-references → resolved paths.
// Every stage reports all it finds, each problem with file:line:col and key path, and a stage
// runs only when the one before it was clean (a schema error makes cross-checks meaningless).
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import { applyDefaults } from './defaults.ts';
import { formatKeyPath, type KeyPath } from './key-path.ts';
import { resolveConfigPaths } from './resolve-paths.ts';
import { schemaIssues, type RawIssue } from './schema-issues.ts';
import { ConfigSchema, type WeaverConfig } from './schema.ts';
import { semanticIssues } from './semantic-checks.ts';
import { parseYaml, type NodeTarget, type Position } from './yaml-source.ts';

export { redactConfig } from './redact.ts';
export type { KeyPath } from './key-path.ts';
export type { NodeTarget, Position } from './yaml-source.ts';

export interface LoadedConfig {
  config: WeaverConfig;
  /** Absolute path of the file. */
  file: string;
  /** Its directory, against which relative paths in it were resolved. */
  dir: string;
  /** Where a key path sits in the file, for errors found later (certificates, plugin options). */
  locate(path: KeyPath, at?: NodeTarget): Position;
}

export async function loadConfigFile(file: string): Promise<LoadedConfig> {
  return loadConfigText(await readConfigFile(file), file);
}

/** The file's text, or a ConfigError that says why it cannot be read. */
export async function readConfigFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    throw new ConfigError([{ file, line: 1, col: 1, path: '', message: `cannot read the configuration file: ${reason}` }]);
  }
}

/** `file` names the source in messages and anchors relative paths; it is not read. */
export function loadConfigText(text: string, file: string): LoadedConfig {
  const source = parseYaml(text, file);
  if (source.value === null || source.value === undefined) {
    throw new ConfigError([
      { file, line: 1, col: 1, path: '', message: 'the configuration is empty: it needs at least listeners and handshakePools' },
    ]);
  }
  const toIssues = (raw: RawIssue[]): ConfigIssue[] =>
    raw
      .map((r) => ({ file, ...source.locate(r.path, r.at), path: formatKeyPath(r.path), message: r.message }))
      .sort((a, b) => a.line - b.line || a.col - b.col);

  const value = applyDefaults(ConfigSchema, source.value);
  const schemaProblems = schemaIssues(ConfigSchema, value);
  if (schemaProblems.length > 0) throw new ConfigError(toIssues(schemaProblems));

  const config = value as WeaverConfig;
  const semanticProblems = semanticIssues(config, source.has);
  if (semanticProblems.length > 0) throw new ConfigError(toIssues(semanticProblems));

  const absolute = resolve(file);
  const dir = dirname(absolute);
  resolveConfigPaths(config, dir);
  return { config, file: absolute, dir, locate: source.locate };
}
