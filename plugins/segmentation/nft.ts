// The policy as an nftables ruleset, for Linux hosts acting as enforcement points: one table
// (`inet weaver_seg`), a set per segment and family holding its CIDR entries, and a forward
// chain with the rules in the engine's order (priority, then deny before allow, then age) —
// nft's first match is the engine's best rule — followed by the allow-list postures.
// Only what a packet filter can see is exported: addresses and ports. Parts of the policy
// that need TLS or HTTP (hosts, JA4/JA3, certificates, tags, routes, upstreams) are left out
// and listed as comments, so a reader knows where the host and the proxy differ.
import { covers, parsePrefix, type Prefix } from './address.ts';
import type { PolicyEngine } from './engine.ts';
import { outranks, type Rule, type Segment } from './policy.ts';

type Fam = 4 | 6;
const FAMS: Fam[] = [4, 6];
const kw = (f: Fam): string => (f === 4 ? 'ip' : 'ip6');

export interface NftOptions {
  table?: string;
  now?: number;
}

export function exportNft(engine: PolicyEngine, opts: NftOptions = {}): string {
  const table = opts.table ?? 'weaver_seg';
  const now = opts.now ?? Date.now();
  const setName = new Map<Segment, string>();
  const prefixes = new Map<Segment, Prefix[]>();
  const out: string[] = [`# weaver segmentation export, ${new Date(now).toISOString()}`, `table inet ${table}`, `delete table inet ${table}`, `table inet ${table} {`];
  let i = 0;
  for (const seg of engine.segments.values()) {
    const ps = [...seg.entries.values()].filter((e) => e.kind === 'cidr').map((e) => parsePrefix(e.value)!);
    prefixes.set(seg, ps);
    setName.set(seg, `s${i++}_${seg.name.replace(/[^A-Za-z0-9_]/g, '_')}`.slice(0, 60));
    for (const f of FAMS) {
      const elems = ps.filter((p) => p.bytes.length === (f === 4 ? 4 : 16)).map((p) => p.text);
      out.push(`  set ${setName.get(seg)}_v${f} {`, `    type ${f === 4 ? 'ipv4_addr' : 'ipv6_addr'}; flags interval; auto-merge;`);
      if (elems.length) out.push(`    elements = { ${elems.join(', ')} }`);
      out.push('  }');
    }
  }
  const has = (seg: Segment, f: Fam): boolean => prefixes.get(seg)!.some((p) => p.bytes.length === (f === 4 ? 4 : 16));
  const set = (seg: Segment, f: Fam): string => `@${setName.get(seg)}_v${f}`;

  out.push('  chain forward {', '    type filter hook forward priority filter; policy accept;', '    ct state established,related accept');
  const rules = [...engine.rules.values()].filter((r) => r.action !== 'flag' && (r.expiresAt === 0 || r.expiresAt > now)).sort((a, b) => (outranks(a, b) ? -1 : 1));
  for (const r of rules) {
    const notes = proxyOnly(r);
    out.push(`    # rule ${r.id} (${r.action}, priority ${r.priority}${r.expiresAt ? `, until ${new Date(r.expiresAt).toISOString()}` : ''})${r.input.reason ? `: ${oneLine(r.input.reason)}` : ''}`);
    if (r.toUpstream !== undefined || r.toRoute !== undefined) {
      out.push(`    #   not exported: it matches on ${notes.join(', ')}`);
      continue;
    }
    if (notes.length) out.push(`    #   exported for addresses only; the proxy also matches ${notes.join(', ')}`);
    const verdict = r.action === 'allow' ? 'accept' : 'drop';
    const port = r.toPort !== undefined ? ` tcp dport ${r.toPort}` : '';
    if (!r.fromPrefix && !r.fromSegment && !r.toSegment) {
      out.push(`    ${port ? `${port.trim()} ` : ''}${verdict}`);
      continue;
    }
    for (const f of FAMS) {
      const parts: string[] = [];
      if (r.fromPrefix) {
        if (r.fromPrefix.bytes.length !== (f === 4 ? 4 : 16)) continue;
        parts.push(`${kw(f)} saddr ${r.fromPrefix.text}`);
      } else if (r.fromSegment) {
        if (!has(r.fromSegment, f)) continue;
        parts.push(`${kw(f)} saddr ${set(r.fromSegment, f)}`);
      }
      if (r.toSegment) {
        if (!has(r.toSegment, f)) continue;
        parts.push(`${kw(f)} daddr ${set(r.toSegment, f)}`);
      }
      if (r.action === 'isolate') for (const own of ownSegments(r, prefixes)) if (has(own, f)) parts.push(`${kw(f)} daddr != ${set(own, f)}`);
      if (parts.length === 0) parts.push(`meta nfproto ipv${f}`);
      out.push(`    ${parts.join(' ')}${port} ${verdict}`);
    }
  }
  for (const seg of engine.segments.values()) {
    if (seg.posture !== 'allow-list') continue;
    out.push(`    # posture: ${seg.name} is an allow-list (only its members reach it)`);
    if (seg.counts.host) out.push(`    #   the proxy also treats ${seg.name}'s hosts as inside it`);
    for (const f of FAMS) if (has(seg, f)) out.push(`    ${kw(f)} daddr ${set(seg, f)} ${kw(f)} saddr != ${set(seg, f)} drop`);
  }
  out.push('  }', '}', '');
  return out.join('\n');
}

/**
 * The segments an isolated source belongs to by address: isolation keeps it inside them. For a
 * rule from a segment that is the segment itself; the engine also exempts any other segment a
 * given source happens to be in, which a packet filter rule cannot know ahead of the packet.
 */
function ownSegments(r: Rule, prefixes: Map<Segment, Prefix[]>): Segment[] {
  if (r.fromSegment) return [r.fromSegment];
  const p = r.fromPrefix;
  if (!p) return [];
  return [...prefixes].filter(([, ps]) => ps.some((q) => covers(q, p))).map(([seg]) => seg);
}

function proxyOnly(r: Rule): string[] {
  const notes: string[] = [];
  if (r.toUpstream !== undefined) notes.push(`upstream ${r.toUpstream}`);
  if (r.toRoute !== undefined) notes.push(`route ${r.toRoute}`);
  for (const [side, seg] of [['source', r.fromSegment], ['destination', r.toSegment]] as const) {
    if (!seg) continue;
    const kinds = (['host', 'identity', 'ja4', 'ja3', 'tag'] as const).filter((k) => seg.counts[k] > 0);
    if (kinds.length) notes.push(`${side} ${seg.name} by ${kinds.join('/')}`);
  }
  return notes;
}

const oneLine = (s: string): string => s.replace(/[\r\n]+/g, ' ').slice(0, 200);
