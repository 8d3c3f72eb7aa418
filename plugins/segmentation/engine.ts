// The rule engine: segments and rules compiled into one prefix trie for addresses and hash
// maps for names, changed one rule or one entry at a time (no recompile), and evaluated per
// flow without allocating for membership: a segment found for the current evaluation carries
// that evaluation's number (its "mark"), so "is the source a member" is one comparison.
import { parseIp, parsePrefix } from './address.ts';
import type { SegmentConfig } from './options.ts';
import { Scratch } from './scratch.ts';
import { PrefixTrie } from './trie.ts';
import {
  ENTRY_KINDS,
  SegmentationError,
  normalizeEntry,
  outranks,
  verdictOf,
  type Decision,
  type Entry,
  type EntryKind,
  type Flow,
  type Origin,
  type Rule,
  type Segment,
  type Verdict,
} from './policy.ts';

type NameKind = Exclude<EntryKind, 'cidr'>;

/** `*.example.com` is kept as `.example.com`: a lookup tries each suffix of the name. */
const nameKey = (kind: NameKind, value: string): string => (kind === 'host' && value.startsWith('*.') ? value.slice(1) : value);
const NO_FLAGS: Rule[] = [];
const NO_HITS: Array<Segment | Rule> = [];
// Unique across the engines of the process: a flow an engine of a previous plugin instance
// evaluated (kept across a reload, see live.ts) never passes its cached lookup for this one's.
let addressVersions = 0;
const T = 2;
const U = 1;
const F = 0;

export class PolicyEngine {
  readonly segments = new Map<string, Segment>();
  readonly rules = new Map<string, Rule>();
  private readonly trie = new PrefixTrie<Segment | Rule>();
  private readonly names: Record<NameKind, Map<string, Segment[]>> = {
    host: new Map(),
    identity: new Map(),
    ja4: new Map(),
    ja3: new Map(),
    tag: new Map(),
  };
  private readonly bySegment = new Map<Segment, Set<Rule>>();
  private readonly anySource = new Set<Rule>();
  private seqNo = 0;
  private epoch = 0;
  // Scratch state of the evaluation in progress (evaluations are synchronous).
  private readonly cands = new Scratch<Rule>();
  private readonly srcMembers = new Scratch<Segment>();
  private readonly dstMembers = new Scratch<Segment>();
  private readonly hits = new Scratch<Segment | Rule>();
  /** Changed whenever the trie changes, so flows know their cached source lookups are stale. */
  private addressVersion = ++addressVersions;
  // Destination addresses are few (the listeners' addresses), so their segments are kept.
  private readonly dstCache = new Map<string, Segment[]>();
  /** Which segments need looking at on every evaluation; rebuilt after a segment or entry change. */
  private shape: { late: Segment[]; allowList: Segment[]; wildcards: boolean } | undefined;

  /** Segments or entries changed: what was derived from them is rebuilt on next use. */
  private changed(): void {
    this.shape = undefined;
    this.dstCache.clear();
  }

  nextSeq(): number {
    return ++this.seqNo;
  }

  segment(name: string): Segment | undefined {
    return this.segments.get(name);
  }

  addSegment(name: string, config: Partial<SegmentConfig>, origin: Origin): Segment {
    if (this.segments.has(name)) throw new SegmentationError('WEAVER_ERR_SEG_ENTRY', `segment "${name}" is defined twice`);
    const counts = Object.fromEntries(ENTRY_KINDS.map((k) => [k, 0])) as Record<EntryKind, number>;
    const seg: Segment = { kind: 'segment', name, by: `posture:${name}`, posture: config.posture ?? 'deny-list', entries: new Map(), counts, src: 0, dst: 0, dstByAddress: 0 };
    this.segments.set(name, seg);
    this.bySegment.set(seg, new Set());
    this.changed();
    const lists: Array<[EntryKind, readonly string[] | undefined]> = [
      ['cidr', config.cidrs],
      ['host', config.hosts],
      ['identity', config.identities],
      ['ja4', config.ja4],
      ['ja3', config.ja3],
      ['tag', config.tags],
    ];
    for (const [kind, values] of lists) {
      for (const v of values ?? []) {
        try {
          this.addEntry(seg, kind, v, origin);
        } catch (err) {
          throw new SegmentationError('WEAVER_ERR_SEG_ENTRY', `segment "${name}": ${(err as Error).message}`);
        }
      }
    }
    return seg;
  }

  /** List entries across segments. */
  get entryCount(): number {
    let n = 0;
    for (const seg of this.segments.values()) n += seg.entries.size;
    return n;
  }

  /** Adds one list entry; returns the entry, or undefined when the segment already had it. */
  addEntry(seg: Segment, kind: EntryKind, raw: string, origin: Origin, now = Date.now()): Entry | undefined {
    const value = normalizeEntry(kind, raw);
    const key = `${kind}|${value}`;
    if (seg.entries.has(key)) return undefined;
    const entry: Entry = { kind, value, origin, addedAt: now };
    seg.entries.set(key, entry);
    seg.counts[kind]++;
    this.index(seg, kind, value, true);
    return entry;
  }

  removeEntry(seg: Segment, kind: EntryKind, raw: string): Entry | undefined {
    const value = normalizeEntry(kind, raw);
    const key = `${kind}|${value}`;
    const entry = seg.entries.get(key);
    if (!entry) return undefined;
    seg.entries.delete(key);
    seg.counts[kind]--;
    this.index(seg, kind, value, false);
    return entry;
  }

  /** Puts a segment's (normalized) entry into, or takes it out of, the trie or its name map. */
  private index(seg: Segment, kind: EntryKind, value: string, add: boolean): void {
    this.changed();
    if (kind === 'cidr') {
      const prefix = parsePrefix(value)!;
      if (add) this.trie.insert(prefix, seg);
      else this.trie.remove(prefix, seg);
      this.addressVersion = ++addressVersions;
      return;
    }
    const map = this.names[kind];
    const k = nameKey(kind, value);
    const list = map.get(k);
    if (add) {
      if (list) list.push(seg);
      else map.set(k, [seg]);
    } else {
      list!.splice(list!.indexOf(seg), 1);
      if (list!.length === 0) map.delete(k);
    }
  }

  addRule(rule: Rule): void {
    if (this.rules.has(rule.id)) throw new SegmentationError('WEAVER_ERR_SEG_RULE', `a rule with id "${rule.id}" exists`);
    this.rules.set(rule.id, rule);
    if (rule.fromPrefix) {
      this.trie.insert(rule.fromPrefix, rule);
      this.addressVersion = ++addressVersions;
    } else if (rule.fromSegment) this.bySegment.get(rule.fromSegment)!.add(rule);
    else this.anySource.add(rule);
  }

  removeRule(id: string): Rule | undefined {
    const rule = this.rules.get(id);
    if (!rule) return undefined;
    this.rules.delete(id);
    if (rule.fromPrefix) {
      this.trie.remove(rule.fromPrefix, rule);
      this.addressVersion = ++addressVersions;
    } else if (rule.fromSegment) this.bySegment.get(rule.fromSegment)!.delete(rule);
    else this.anySource.delete(rule);
    return rule;
  }

  /** Rules whose expiry has passed (the caller removes them and says so in the audit log). */
  expired(now: number): Rule[] {
    const out: Rule[] = [];
    for (const r of this.rules.values()) if (r.expiresAt !== 0 && r.expiresAt <= now) out.push(r);
    return out;
  }

  /** Source and destination segments of a flow, for dry-runs. */
  segmentsOf(flow: Flow): { from: string[]; to: string[] } {
    this.evaluate(flow);
    return { from: this.srcMembers.toArray().map((s) => s.name), to: this.dstMembers.toArray().map((s) => s.name) };
  }

  /** `now` (ms) is read only when a candidate rule has an expiry. */
  evaluate(flow: Flow, now?: number): Decision {
    const e = ++this.epoch;
    const stage = flow.stage;
    const shape = (this.shape ??= this.reshape());
    const { cands, srcMembers, dstMembers } = this;
    cands.clear();
    srcMembers.clear();
    dstMembers.clear();

    if (flow.srcAddr === undefined) flow.srcAddr = parseIp(flow.src) ?? null;
    // What the trie holds for the source is kept on the flow until the trie changes: a
    // connection is evaluated at up to four phases, and only the first one walks the trie.
    let hits = flow.srcHits;
    if (flow.srcAddr !== null && (hits === undefined || flow.srcVersion !== this.addressVersion)) {
      this.hits.clear();
      this.trie.lookup(flow.srcAddr, this.hits);
      // Most sources are in no prefix: they share one empty list instead of allocating one.
      flow.srcHits = hits = this.hits.n === 0 ? NO_HITS : this.hits.toArray();
      flow.srcVersion = this.addressVersion;
    }
    if (hits) {
      for (let i = 0; i < hits.length; i++) {
        const v = hits[i]!;
        if (v.kind === 'rule') cands.push(v);
        else if (v.src !== e) {
          v.src = e;
          srcMembers.push(v);
        }
      }
    }
    if (stage >= 1) {
      if (flow.ja4) this.markSrc(this.names.ja4.get(flow.ja4), e);
      if (flow.ja3) this.markSrc(this.names.ja3.get(flow.ja3), e);
    }
    if (stage >= 2) {
      if (flow.identities) for (const id of flow.identities) this.markSrc(this.names.identity.get(id), e);
      if (flow.tags) {
        for (const k in flow.tags) {
          this.markSrc(this.names.tag.get(k), e);
          this.markSrc(this.names.tag.get(`${k}=${String(flow.tags[k])}`), e);
        }
      }
    }
    if (flow.dst !== undefined) {
      let segs = this.dstCache.get(flow.dst);
      if (!segs) {
        segs = [];
        const addr = parseIp(flow.dst);
        if (addr !== undefined) {
          const found: Array<Segment | Rule> = [];
          this.trie.lookup(addr, found);
          for (const v of found) if (v.kind === 'segment' && !segs.includes(v)) segs.push(v);
        }
        if (this.dstCache.size >= 1_024) this.dstCache.clear();
        this.dstCache.set(flow.dst, segs);
      }
      for (let i = 0; i < segs.length; i++) {
        const v = segs[i]!;
        v.dst = v.dstByAddress = e;
        dstMembers.push(v);
      }
    }
    // The destination's name: the SNI, or the Host header of a connection without SNI.
    const hostName = stage >= 1 && flow.sni ? flow.sni : stage >= 3 ? flow.host : undefined;
    const hostKnown = stage >= 3 || (stage >= 1 && !!flow.sni);
    if (hostName) this.markHost(hostName, e, shape.wildcards);

    for (let i = 0; i < srcMembers.n; i++) for (const r of this.bySegment.get(srcMembers.items[i]!)!) cands.push(r);
    // Segments whose membership a later phase may still show (JA4/JA3 before the hello,
    // certificate identity and tags before the handshake): their rules are "unknown" so far.
    if (stage < 2) {
      for (const seg of shape.late) {
        if (seg.src !== e && this.srcUnknown(seg, stage)) for (const r of this.bySegment.get(seg)!) cands.push(r);
      }
    }
    for (const r of this.anySource) cands.push(r);

    let bestT: Rule | undefined;
    let bestU: Rule | undefined;
    let flags = NO_FLAGS;
    for (let i = 0; i < cands.n; i++) {
      const r = cands.items[i]!;
      if (r.expiresAt !== 0 && r.expiresAt <= (now ??= Date.now())) continue;
      let m = T;
      if (r.fromSegment && r.fromSegment.src !== e) m = U;
      if (r.toSegment && r.toSegment.dst !== e) m = !hostKnown && r.toSegment.counts.host > 0 ? U : F;
      if (m === F) continue;
      if (r.toPort !== undefined && r.toPort !== flow.port) continue;
      if (r.toUpstream !== undefined || r.toRoute !== undefined) {
        if (stage < 3) m = U;
        else if ((r.toUpstream !== undefined && r.toUpstream !== flow.upstream) || (r.toRoute !== undefined && r.toRoute !== flow.route)) continue;
      }
      // Isolation keeps a source inside its own segments (reached by address).
      if (r.action === 'isolate' && this.reachesOwn(e)) continue;
      if (r.action === 'flag') {
        if (m === T) (flags === NO_FLAGS ? (flags = []) : flags).push(r);
        continue;
      }
      if (m === T) {
        if (outranks(r, bestT)) bestT = r;
      } else if (outranks(r, bestU)) bestU = r;
    }

    let verdict: Verdict | 'pending' = 'allow';
    let by = 'default';
    if (bestT) {
      verdict = verdictOf(bestT.action);
      by = bestT.by;
    } else {
      // With no rule deciding: an allow-list destination segment refuses non-members.
      for (const seg of shape.allowList) {
        const into = seg.dst === e ? T : !hostKnown && seg.counts.host > 0 ? U : F;
        if (into === F || seg.src === e) continue;
        if (into === T && !this.srcUnknown(seg, stage)) {
          verdict = 'deny';
          by = seg.by;
          break;
        }
        verdict = 'pending';
        by = seg.by;
      }
    }
    if (bestU && outranks(bestU, bestT) && verdictOf(bestU.action) !== verdict) return { verdict: 'pending', rule: undefined, by: bestU.by, flags, segment: srcMembers.n ? srcMembers.items[0]!.name : undefined };
    return { verdict, rule: bestT, by, flags, segment: srcMembers.n ? srcMembers.items[0]!.name : undefined };
  }

  private reshape(): NonNullable<PolicyEngine['shape']> {
    const segs = [...this.segments.values()];
    return {
      late: segs.filter((s) => s.counts.ja4 + s.counts.ja3 + s.counts.identity + s.counts.tag > 0),
      allowList: segs.filter((s) => s.posture === 'allow-list'),
      wildcards: [...this.names.host.keys()].some((k) => k.startsWith('.')),
    };
  }

  /** Whether the destination is, by address, in one of the source's own segments. */
  private reachesOwn(e: number): boolean {
    for (let i = 0; i < this.srcMembers.n; i++) if (this.srcMembers.items[i]!.dstByAddress === e) return true;
    return false;
  }

  private srcUnknown(seg: Segment, stage: number): boolean {
    const c = seg.counts;
    return (stage < 1 && c.ja4 + c.ja3 > 0) || (stage < 2 && c.identity + c.tag > 0);
  }

  private markSrc(list: Segment[] | undefined, e: number): void {
    if (!list) return;
    for (const s of list) {
      if (s.src === e) continue;
      s.src = e;
      this.srcMembers.push(s);
    }
  }

  private markHost(name: string, e: number, wildcards: boolean): void {
    this.markDst(this.names.host.get(name), e);
    if (!wildcards) return;
    for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) this.markDst(this.names.host.get(name.slice(dot)), e);
  }

  private markDst(list: Segment[] | undefined, e: number): void {
    if (!list) return;
    for (const s of list) {
      if (s.dst === e) continue;
      s.dst = e;
      this.dstMembers.push(s);
    }
  }
}
