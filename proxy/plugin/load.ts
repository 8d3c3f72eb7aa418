// Loads the plugins a config lists, in order: resolve the module, validate its options against
// the schema the plugin declares, and run its setup with a PluginApi of its own.
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Value } from '@sinclair/typebox/value';
import type { Logger } from 'pino';
import { PluginError } from '../errors.ts';
import { Connection } from '../connection.ts';
import type { PluginEntryConfig } from '../config/schema.ts';
import type { HookOwner } from '../hooks/runner.ts';
import type { AdminRoutes } from '../admin/routes.ts';
import type { CoreMetrics } from '../metrics.ts';
import { createPluginMetrics } from './metrics.ts';
import type { StateStore } from '../store/types.ts';
import type { UpstreamTransports } from '../upstream/transports.ts';
import type { ConnectionContext, PluginApi, PluginDefinition, PluginHooks } from './types.ts';

export interface LoadedPlugin {
  readonly owner: HookOwner;
  readonly hooks: PluginHooks;
  readonly definition: PluginDefinition;
  readonly source: string;
  stop(): Promise<void>;
}

export interface PluginHost {
  log: Logger;
  metrics: CoreMetrics;
  admin: AdminRoutes;
  pools: readonly string[];
  /** Absolute; each plugin gets `<stateDir>/plugins/<name>`. */
  stateDir: string;
  /** Directory relative `use` paths were written against (already resolved by the loader). */
  baseDir: string;
  store: StateStore;
  /** Upstream transports plugins register (`api.upstreamTransports`). */
  transports?: UpstreamTransports;
}

const SETUP_BUDGET_MS = 30_000;

/**
 * A path is relative to the config file; a package name is looked up from the config file's
 * directory first (plugins installed beside the config), then from Weaver's own dependencies.
 */
function moduleSpecifier(use: string, baseDir: string): string {
  if (use.startsWith('.') || isAbsolute(use)) return pathToFileURL(resolve(baseDir, use)).href;
  try {
    return pathToFileURL(createRequire(join(baseDir, 'weaver.config')).resolve(use)).href;
  } catch {
    return use;
  }
}

function isDefinition(v: unknown): v is PluginDefinition {
  return typeof v === 'object' && v !== null && typeof (v as PluginDefinition).setup === 'function' && typeof (v as PluginDefinition).name === 'string';
}

export interface ResolvedPlugin {
  readonly name: string;
  readonly definition: PluginDefinition;
  readonly options: unknown;
}

/** Imports a plugin and validates its options, without running its setup (`weaver check` uses this). */
export async function resolvePlugin(entry: PluginEntryConfig, baseDir: string): Promise<ResolvedPlugin> {
  let name = entry.name ?? entry.use;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(moduleSpecifier(entry.use, baseDir))) as Record<string, unknown>;
  } catch (err) {
    throw new PluginError('WEAVER_ERR_PLUGIN_LOAD', name, `cannot load "${entry.use}": ${(err as Error).message}`, { cause: err });
  }
  const definition = [mod.default, mod.plugin].find(isDefinition);
  if (!definition) {
    throw new PluginError('WEAVER_ERR_PLUGIN_LOAD', name, `"${entry.use}" has no plugin: export default definePlugin({ name, setup })`);
  }
  // The name written in the config wins, so one plugin can be loaded twice under two names.
  name = entry.name ?? definition.name;
  let options: unknown = entry.options ?? {};
  if (definition.options) {
    options = Value.Default(definition.options, structuredClone(options));
    const errors = [...Value.Errors(definition.options, options)];
    if (errors.length > 0) {
      const lines = errors.slice(0, 10).map((e) => `options${e.path.replaceAll('/', '.')}: ${e.message}`);
      throw new PluginError('WEAVER_ERR_PLUGIN_OPTIONS', name, `invalid options: ${lines.join('; ')}`);
    }
  }
  return { name, definition, options };
}

async function setupPlugin(entry: PluginEntryConfig, resolved: ResolvedPlugin, host: PluginHost): Promise<LoadedPlugin> {
  const { name, definition, options } = resolved;
  const log = host.log.child({ plugin: name });
  const stateDir = join(host.stateDir, 'plugins', name);
  await mkdir(stateDir, { recursive: true });
  const stops: Array<() => unknown> = [];
  const api: PluginApi<unknown> = {
    name,
    options,
    log,
    metrics: createPluginMetrics(name, host.metrics.registry),
    admin: { route: (method, path, handler) => host.admin.add(name, method, path, handler) },
    pools: host.pools,
    stateDir,
    configDir: host.baseDir,
    store: host.store.namespace(name),
    upstreamTransports: {
      register(scheme, transport) {
        if (!host.transports) throw new PluginError('WEAVER_ERR_PLUGIN_LOAD', name, 'upstream transports are not available here');
        host.transports.register(name, scheme, transport);
        stops.push(() => host.transports?.unregister(name));
      },
    },
    connectionState<T extends object>(init: (conn: ConnectionContext) => T) {
      // On the core's connections the state lives in the connection itself: a WeakMap entry per
      // connection costs several times more, most of it in the GC (ephemerons). The WeakMap is for
      // contexts the core did not make.
      const key = {};
      const slots = new WeakMap<ConnectionContext, T>();
      return (conn: ConnectionContext): T => {
        if (conn instanceof Connection) return conn.state(key, init);
        let slot = slots.get(conn);
        if (slot === undefined) {
          slot = init(conn);
          slots.set(conn, slot);
        }
        return slot;
      };
    },
    onStop(fn) {
      stops.push(fn);
    },
  };

  let hooks: PluginHooks | void;
  try {
    hooks = await withTimeout(Promise.resolve(definition.setup(api as PluginApi<never>)), SETUP_BUDGET_MS, name);
  } catch (err) {
    if (err instanceof PluginError) throw err;
    throw new PluginError('WEAVER_ERR_PLUGIN_LOAD', name, `setup failed: ${(err as Error).message}`, { cause: err });
  }
  const owner: HookOwner = { name, timeoutMs: entry.timeoutMs, failure: entry.failure };
  return {
    owner,
    hooks: hooks ?? {},
    definition,
    source: entry.use,
    async stop() {
      host.admin.removePlugin(name);
      for (const fn of stops.reverse()) {
        try {
          await fn();
        } catch (err) {
          log.warn({ err }, 'plugin stop failed');
        }
      }
    },
  };
}

/** Loads every enabled plugin in config order; if one fails, the ones already loaded are stopped. */
export async function loadPlugins(entries: readonly PluginEntryConfig[], host: PluginHost): Promise<LoadedPlugin[]> {
  const loaded: LoadedPlugin[] = [];
  try {
    for (const entry of entries) {
      if (!entry.enabled) continue;
      const resolved = await resolvePlugin(entry, host.baseDir);
      if (loaded.some((p) => p.owner.name === resolved.name)) {
        throw new PluginError('WEAVER_ERR_PLUGIN_LOAD', resolved.name, 'loaded twice; give one of the entries a distinct `name`');
      }
      loaded.push(await setupPlugin(entry, resolved, host));
    }
  } catch (err) {
    await Promise.all(loaded.map((p) => p.stop()));
    throw err;
  }
  return loaded;
}

function withTimeout<T>(p: Promise<T>, ms: number, name: string): Promise<T> {
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new PluginError('WEAVER_ERR_PLUGIN_TIMEOUT', name, `setup did not finish within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        res(v);
      },
      (e) => {
        clearTimeout(timer);
        rej(e);
      },
    );
  });
}
