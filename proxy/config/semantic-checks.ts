// Rules the schema cannot state: references between sections, uniqueness, and combinations
// that are valid field by field but wrong together. Run only on a config that passed the schema.
import { isIP } from 'node:net';
import { listOptions } from './describe.ts';
import { formatKeyPath, type KeyPath } from './key-path.ts';
import type { RawIssue } from './schema-issues.ts';
import type { WeaverConfig } from './schema.ts';
import { didYouMean } from './suggest.ts';

/** Whether a path was written in the file, rather than filled in by a default. */
export type WrittenCheck = (path: KeyPath) => boolean;

export function semanticIssues(config: WeaverConfig, written: WrittenCheck): RawIssue[] {
  return [
    ...listenerIssues(config, written),
    ...poolIssues(config),
    ...routeIssues(config),
    ...pluginIssues(config),
    ...adminIssues(config),
  ];
}

function firstSeen(names: string[]): Map<number, number> {
  const seenAt = new Map<string, number>();
  const duplicates = new Map<number, number>();
  names.forEach((name, i) => {
    const first = seenAt.get(name);
    if (first === undefined) seenAt.set(name, i);
    else duplicates.set(i, first);
  });
  return duplicates;
}

function definedList(defined: string[]): string {
  return defined.length === 0 ? 'none are defined' : `defined: ${defined.map((d) => JSON.stringify(d)).join(', ')}`;
}

function unknownName(kind: string, name: string, defined: string[]): string {
  const hint = didYouMean(name, defined);
  if (hint !== '') return `unknown ${kind} ${JSON.stringify(name)}${hint}`;
  return `unknown ${kind} ${JSON.stringify(name)} (${definedList(defined)})`;
}

function listenerIssues(config: WeaverConfig, written: WrittenCheck): RawIssue[] {
  const issues: RawIssue[] = [];
  for (const [i, first] of firstSeen(config.listeners.map((l) => l.name))) {
    issues.push({
      path: ['listeners', i, 'name'],
      at: 'value',
      message: `duplicate listener name ${JSON.stringify(config.listeners[i]!.name)} (also listeners[${first}])`,
    });
  }
  const pools = Object.keys(config.handshakePools);
  config.listeners.forEach((listener, i) => {
    if (Object.hasOwn(config.handshakePools, listener.pool)) return;
    const path = ['listeners', i, 'pool'];
    const message = written(path)
      ? unknownName('handshake pool', listener.pool, pools)
      : `no pool set, and the default pool ${JSON.stringify(listener.pool)} is not in handshakePools (${definedList(pools)})`;
    issues.push({ path, at: 'value', message });
  });
  return issues;
}

// host:port, with IPv6 hosts in brackets; port 0 cannot be connected to.
export function parseHostPort(address: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]/]+)):(\d{1,5})$/.exec(address);
  if (!match) return undefined;
  const host = match[1] ?? match[2]!;
  const port = Number(match[3]);
  if (port < 1 || port > 65_535) return undefined;
  if (match[1] !== undefined && isIP(host) !== 6) return undefined;
  return { host, port };
}

function poolIssues(config: WeaverConfig): RawIssue[] {
  const issues: RawIssue[] = [];
  const versionRank = { 'TLSv1.2': 2, 'TLSv1.3': 3 };
  for (const [name, pool] of Object.entries(config.handshakePools)) {
    const base = ['handshakePools', name];
    if (pool.kind === 'remote') {
      pool.targets.forEach((target, i) => {
        if (parseHostPort(target.address) !== undefined) return;
        issues.push({
          path: [...base, 'targets', i, 'address'],
          at: 'value',
          message: `expected host:port (e.g. 10.0.0.5:8443 or [::1]:8443) with a port from 1 to 65535, got ${JSON.stringify(target.address)}`,
        });
      });
      continue;
    }
    if (pool.minVersion && pool.maxVersion && versionRank[pool.minVersion] > versionRank[pool.maxVersion]) {
      issues.push({
        path: [...base, 'maxVersion'],
        at: 'value',
        message: `maxVersion ${pool.maxVersion} is below minVersion ${pool.minVersion}`,
      });
    }
    if (pool.clientCertificate === 'require' && pool.clientCa === undefined) {
      issues.push({
        path: [...base, 'clientCertificate'],
        at: 'value',
        message: 'clientCertificate "require" needs clientCa, the CA bundle that client certificates must chain to',
      });
    }
  }
  return issues;
}

function routeIssues(config: WeaverConfig): RawIssue[] {
  const upstreams = Object.keys(config.upstreams);
  const issues: RawIssue[] = [];
  config.routes.forEach((route, i) => {
    if (Object.hasOwn(config.upstreams, route.upstream)) return;
    issues.push({ path: ['routes', i, 'upstream'], at: 'value', message: unknownName('upstream', route.upstream, upstreams) });
  });
  return issues;
}

// Only names written in the file can be checked here; a plugin's own name is known once it is
// loaded, and the loader refuses duplicates then.
function pluginIssues(config: WeaverConfig): RawIssue[] {
  const named = config.plugins.map((p, i) => p.name ?? `\u0000unnamed-${i}`);
  const issues: RawIssue[] = [];
  for (const [i, first] of firstSeen(named)) {
    issues.push({
      path: ['plugins', i, 'name'],
      at: 'value',
      message: `duplicate plugin name ${JSON.stringify(named[i])} (also ${formatKeyPath(['plugins', first])})`,
    });
  }
  return issues;
}

export function isLoopback(address: string): boolean {
  const a = address.toLowerCase();
  if (a === 'localhost' || a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

function adminIssues(config: WeaverConfig): RawIssue[] {
  const { admin } = config;
  if (!admin.enabled || admin.token !== undefined || isLoopback(admin.address)) return [];
  return [
    {
      path: ['admin', 'address'],
      at: 'value',
      message:
        `the admin API listens on ${JSON.stringify(admin.address)}, which is not loopback, without a token: ` +
        `set admin.token (16 characters or more) or bind it to ${listOptions(['127.0.0.1', '::1'])}`,
    },
  ];
}
