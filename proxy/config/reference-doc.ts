// docs/configuration.md is generated from the schema, so the reference cannot drift from the
// code: one table per section, every key with its type, default and description.
import type { TSchema } from '@sinclair/typebox';
import { ConfigSchema } from './schema.ts';

type Node = TSchema & Record<string, unknown>;

function typeOf(s: Node): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.anyOf)) return (s.anyOf as Node[]).map(typeOf).join(' \\| ');
  if (s.type === 'array') return `list of ${typeOf(s.items as Node)}`;
  if (s.type === 'object' && s.patternProperties) return 'map of name → object';
  if (s.type === 'object') return 'object';
  if (s.type === undefined) return 'any';
  const range = s.minimum !== undefined && s.maximum !== undefined ? ` (${s.minimum}–${s.maximum})` : '';
  return `${String(s.type)}${range}`;
}

function defaultOf(s: Node): string {
  if (!('default' in s)) return '';
  const d = JSON.stringify(s.default);
  return d === '{}' ? '' : `\`${d}\``;
}

function rows(path: string, s: Node, out: string[]): void {
  const props = s.properties as Record<string, Node> | undefined;
  if (props) {
    const required = new Set((s.required as string[] | undefined) ?? []);
    for (const [key, child] of Object.entries(props)) {
      const p = path ? `${path}.${key}` : key;
      const req = required.has(key) && !('default' in child) ? ' **required**' : '';
      out.push(`| \`${p}\` | ${typeOf(child)}${req} | ${defaultOf(child)} | ${String(child.description ?? '').replaceAll('|', '\\|')} |`);
      descend(p, child, out);
    }
  }
}

function descend(path: string, s: Node, out: string[]): void {
  if (s.type === 'array' && s.items) return descend(`${path}[]`, s.items as Node, out);
  if (s.patternProperties) {
    const value = Object.values(s.patternProperties as Record<string, Node>)[0]!;
    return descend(`${path}.<name>`, value, out);
  }
  if (Array.isArray(s.anyOf)) {
    for (const member of s.anyOf as Node[]) {
      const kind = (member.properties as Record<string, Node> | undefined)?.kind?.const;
      if (member.properties) rows(kind ? `${path}(kind=${String(kind)})` : path, member, out);
    }
    return;
  }
  if (s.type === 'object') rows(path, s, out);
}

export function renderConfigReference(): string {
  const out = [
    '# Configuration reference',
    '',
    '<!-- Generated from proxy/config/schema.ts by `npm run schema`; edit the schema, not this file. -->',
    '',
    'Weaver reads one YAML file (`weaver -c FILE`). `weaver check -c FILE` validates it; every error',
    'names the file, line, column and key path. `schema/weaver.schema.json` gives editors completion.',
    'Relative paths (certificates, CA bundles, `stateDir`, plugin `use` paths starting with `.`) are',
    'relative to the config file. Durations are in milliseconds. `config.example.yaml` is a commented',
    'example that runs as is.',
    '',
    '| key | type | default | description |',
    '|---|---|---|---|',
  ];
  rows('', ConfigSchema as Node, out);
  return `${out.join('\n')}\n`;
}
