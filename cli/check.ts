// `weaver check -c config.yaml`: everything `run` would reject at startup, reported at once and
// without binding a port: YAML, schema, cross-references, and every certificate.
import { parseArgs } from 'node:util';
import { loadConfigFile, type KeyPath, type LoadedConfig } from '../proxy/config/load.ts';
import { formatKeyPath } from '../proxy/config/key-path.ts';
import { CertificateError, ConfigError, PluginError, formatIssue, type ConfigIssue } from '../proxy/errors.ts';
import { resolvePlugin } from '../proxy/plugin/load.ts';
import { CertificateEntryError, loadCertificates } from '../proxy/tls/certificates.ts';
import { poolContextOptions } from '../proxy/tls/pool-context-options.ts';

export interface CheckCounts {
  listeners: number;
  pools: number;
  routes: number;
  upstreams: number;
  plugins: number;
}

export type CheckResult =
  | { ok: true; file: string; loaded: LoadedConfig; counts: CheckCounts }
  | { ok: false; file: string; issues: ConfigIssue[] };

const usage = 'usage: weaver check [-c|--config] FILE\n';

function issueAt(loaded: LoadedConfig, path: KeyPath, message: string, file: string): ConfigIssue {
  return { file, ...loaded.locate(path), path: formatKeyPath(path), message };
}

/** Certificate problems as config issues, pointing at the pool entry that names the file. */
async function certificateIssues(loaded: LoadedConfig, file: string): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  for (const [name, pool] of Object.entries(loaded.config.handshakePools)) {
    if (pool.kind !== 'local') continue;
    const base: KeyPath = ['handshakePools', name];
    try {
      const contextOptions = await poolContextOptions(pool);
      await loadCertificates(pool.certificates, { stateDir: loaded.config.stateDir, contextOptions });
    } catch (err) {
      if (!(err instanceof CertificateError)) throw err;
      const path = err instanceof CertificateEntryError ? [...base, 'certificates', err.entry] : base;
      issues.push(issueAt(loaded, path, err.message, file));
    }
  }
  return issues;
}

/** Each plugin must load and accept its options; its setup is not run. */
async function pluginIssues(loaded: LoadedConfig, file: string): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  for (const [i, entry] of loaded.config.plugins.entries()) {
    if (!entry.enabled) continue;
    try {
      await resolvePlugin(entry, loaded.dir);
    } catch (err) {
      if (!(err instanceof PluginError)) throw err;
      const at: KeyPath = err.code === 'WEAVER_ERR_PLUGIN_OPTIONS' && entry.options !== undefined ? ['plugins', i, 'options'] : ['plugins', i, 'use'];
      issues.push(issueAt(loaded, at, err.message, file));
    }
  }
  return issues;
}

/** Loads and checks a config as `run` would, short of listening. `file` is shown as given. */
export async function checkConfig(file: string): Promise<CheckResult> {
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfigFile(file);
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, file, issues: err.issues };
    throw err;
  }
  const issues = [...(await certificateIssues(loaded, file)), ...(await pluginIssues(loaded, file))];
  if (issues.length > 0) return { ok: false, file, issues };
  const { config } = loaded;
  return {
    ok: true,
    file,
    loaded,
    counts: {
      listeners: config.listeners.length,
      pools: Object.keys(config.handshakePools).length,
      routes: config.routes.length,
      upstreams: Object.keys(config.upstreams).length,
      plugins: config.plugins.length,
    },
  };
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export async function checkCommand(args: string[]): Promise<number> {
  let file: string;
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      process.stdout.write(usage);
      return 0;
    }
    if (positionals.length > 1 || (values.config !== undefined && positionals.length > 0)) {
      throw new Error('give one config file');
    }
    file = values.config ?? positionals[0] ?? 'weaver.yaml';
  } catch (err) {
    process.stderr.write(`weaver check: ${(err as Error).message}\n${usage}`);
    return 2;
  }
  const result = await checkConfig(file);
  if (!result.ok) {
    for (const issue of result.issues) process.stderr.write(`${formatIssue(issue)}\n`);
    return 1;
  }
  const c = result.counts;
  process.stdout.write(
    `ok: ${file} (${count(c.listeners, 'listener')}, ${count(c.pools, 'pool')}, ${count(c.routes, 'route')}, ` +
      `${count(c.upstreams, 'upstream')}, ${count(c.plugins, 'plugin')})\n`,
  );
  return 0;
}
