// Everything `run` would reject at startup, found without binding a port: YAML, schema,
// cross-references, every certificate, and each plugin's module and options (its setup is not
// run). `weaver check`, a reload and a cluster primary all use it.
import { loadConfigText, readConfigFile, type KeyPath, type LoadedConfig } from './load.ts';
import { formatKeyPath } from './key-path.ts';
import { CertificateError, ConfigError, PluginError, type ConfigIssue } from '../errors.ts';
import { resolvePlugin } from '../plugin/load.ts';
import { CertificateEntryError, loadCertificates } from '../tls/certificates.ts';
import { poolContextOptions } from '../tls/pool-context-options.ts';

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
  let text: string;
  try {
    text = await readConfigFile(file);
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, file, issues: err.issues };
    throw err;
  }
  return checkConfigText(text, file);
}

/** The same check on text already read: a cluster primary checks once and hands the same text to every worker. */
export async function checkConfigText(text: string, file: string): Promise<CheckResult> {
  let loaded: LoadedConfig;
  try {
    loaded = loadConfigText(text, file);
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
