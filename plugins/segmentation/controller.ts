// Every change to the policy goes through here, whoever makes it (config, admin API, feeds,
// analyzer): validate, apply to the engine, persist what is not in the config, write the audit
// record, and cut the live flows the change now forbids.
import { randomUUID } from 'node:crypto';
import type { ConnectionContext, PluginStore } from 'weaver';
import type { AuditLog } from './audit.ts';
import { Denials } from './denials.ts';
import { PolicyEngine } from './engine.ts';
import type { LiveFlows } from './live.ts';
import { ENTRY_KINDS, SegmentationError, compileRule, describeRule, normalizeEntry, type Decision, type EntryKind, type Flow, type Origin, type Rule, type Segment } from './policy.ts';

export interface ControllerOptions {
  maxRules: number;
  /** List entries held at most across segments, past which POST /entries is refused (none when absent). */
  maxEntries?: number;
  cutLiveFlows: boolean;
  maxDenyKeys: number;
}

export interface Logger {
  info(o: object, m?: string): void;
  warn(o: object, m?: string): void;
}

interface StoredRule {
  input: Record<string, unknown>;
  origin: Origin;
}

export class Controller {
  readonly engine = new PolicyEngine();
  /** Live connections and what is known of their flow (shared across a reload, see live.ts). */
  readonly flows: Map<ConnectionContext, Flow>;
  readonly denials: Denials;
  private readonly opts: ControllerOptions;
  private readonly store: PluginStore | undefined;
  private readonly audit: AuditLog | undefined;
  private readonly log: Logger | undefined;
  private readonly live: LiveFlows | undefined;
  /** Called after each change with the number of live flows it cut (metrics, tests). */
  onCut: ((n: number) => void) | undefined;

  constructor(opts: ControllerOptions, deps: { store?: PluginStore; audit?: AuditLog; log?: Logger; live?: LiveFlows } = {}) {
    this.opts = opts;
    this.store = deps.store;
    this.audit = deps.audit;
    this.log = deps.log;
    this.live = deps.live;
    this.flows = deps.live?.flows ?? new Map();
    this.denials = new Denials(opts.maxDenyKeys);
  }

  /**
   * A reload replaced this controller's instance (see live.ts): it still follows its feeds, but
   * the newest instance writes the audit records and expires rules.
   */
  get replaced(): boolean {
    return this.live?.replaced(this) ?? false;
  }

  /** Compiles a rule against the current segments; throws SegmentationError (nothing changes). */
  compile(raw: unknown, origin: Origin, id?: string): Rule {
    const withId = id !== undefined && typeof raw === 'object' && raw !== null ? { ...raw, id } : raw;
    return compileRule(withId, origin, { segment: (n) => this.engine.segment(n), nextSeq: () => this.engine.nextSeq(), now: Date.now() }, () => `r-${randomUUID().slice(0, 13)}`);
  }

  addRule(raw: unknown, who: Origin): Rule {
    if (this.engine.rules.size >= this.opts.maxRules) throw new SegmentationError('WEAVER_ERR_SEG_LIMIT', `the engine holds its maximum of ${this.opts.maxRules} rules`);
    const rule = this.compile(raw, who);
    this.engine.addRule(rule);
    this.persistRule(rule);
    this.audit?.append('rule.add', who, { rule: describeRule(rule) });
    this.recheck();
    return rule;
  }

  changeRule(id: string, raw: unknown, who: Origin): Rule {
    const old = this.writable(id);
    const rule = this.compile(raw, who, id);
    this.engine.removeRule(id);
    this.engine.addRule(rule);
    this.persistRule(rule);
    this.audit?.append('rule.change', who, { before: describeRule(old), rule: describeRule(rule) });
    this.recheck();
    return rule;
  }

  deleteRule(id: string, who: Origin): Rule {
    const old = this.remove(this.writable(id), who, 'rule.delete');
    this.recheck();
    return old;
  }

  addEntry(segment: string, kind: unknown, value: unknown, who: Origin): boolean {
    const [seg, k, v] = this.entryArgs(segment, kind, value);
    const max = this.opts.maxEntries ?? Infinity;
    // At the limit, a bad value is still a bad value and an entry already there is still no change.
    if (this.engine.entryCount >= max && !seg.entries.has(`${k}|${normalizeEntry(k, v)}`)) {
      throw new SegmentationError('WEAVER_ERR_SEG_LIMIT', `the segments hold their maximum of ${max} list entries`);
    }
    const entry = this.engine.addEntry(seg, k, v, who);
    if (!entry) return false;
    void this.store?.set(`entry:${seg.name}|${k}|${entry.value}`, { origin: who, addedAt: entry.addedAt });
    this.audit?.append('entry.add', who, { segment: seg.name, kind: k, value: entry.value });
    this.recheck();
    return true;
  }

  deleteEntry(segment: string, kind: unknown, value: unknown, who: Origin): boolean {
    const [seg, k, v] = this.entryArgs(segment, kind, value);
    const existing = seg.entries.get(`${k}|${normalizeEntry(k, v)}`);
    if (existing?.origin === 'config') throw new SegmentationError('WEAVER_ERR_SEG_READONLY', `this entry of "${seg.name}" comes from the config file; change it there`);
    if (existing?.origin.startsWith('feed:')) throw new SegmentationError('WEAVER_ERR_SEG_READONLY', `this entry of "${seg.name}" belongs to ${existing.origin}`);
    const entry = this.engine.removeEntry(seg, k, v);
    if (!entry) return false;
    void this.store?.delete(`entry:${seg.name}|${k}|${entry.value}`);
    this.audit?.append('entry.delete', who, { segment: seg.name, kind: k, value: entry.value });
    this.recheck();
    return true;
  }

  /** Replaces all the entries one source (a feed) holds in a segment; one audit record. */
  replaceEntries(seg: Segment, entries: ReadonlyArray<{ kind: EntryKind; value: string }>, who: Origin, detail: Record<string, unknown> = {}): { added: number; removed: number } {
    const keep = new Set<string>();
    let added = 0;
    let removed = 0;
    let skipped = 0;
    const now = Date.now();
    for (const { kind, value } of entries) {
      try {
        const e = this.engine.addEntry(seg, kind, value, who, now);
        if (e) added++;
        keep.add(`${kind}|${normalizeEntry(kind, value)}`);
      } catch (err) {
        if (skipped++ === 0) this.log?.warn({ segment: seg.name, value, err: (err as Error).message }, 'segmentation: entry skipped');
      }
    }
    for (const [key, e] of [...seg.entries]) {
      if (e.origin === who && !keep.has(key)) {
        this.engine.removeEntry(seg, e.kind, e.value);
        removed++;
      }
    }
    if (!this.replaced) this.audit?.append('entries.replace', who, { segment: seg.name, entries: entries.length, added, removed, skipped, ...detail });
    this.recheck();
    return { added, removed };
  }

  /** Removes expired rules, each with an audit record. */
  sweep(now = Date.now()): number {
    const gone = this.engine.expired(now);
    for (const r of gone) this.remove(r, 'engine', 'rule.expire');
    if (gone.length) this.recheck();
    return gone.length;
  }

  evaluate(flow: Flow): Decision {
    return this.engine.evaluate(flow);
  }

  /** A refused flow: counted for the audit log's aggregated denial records. */
  denied(flow: Flow, d: Decision): void {
    if (this.audit) this.denials.add(flow.src, d.by);
  }

  flushDenials(): void {
    if (!this.audit) return;
    for (const rec of this.denials.drain()) this.audit.append('flow.deny', 'engine', { ...rec });
  }

  /**
   * Re-evaluates every live flow and cuts the ones the policy now refuses. Only what is known
   * of the connection counts (up to the handshake): a rule on routes or hosts refuses the next
   * request that matches, it does not cut a connection for the request it carried last.
   */
  recheck(): number {
    // The live flows are shared across a reload: only the newest instance, once set up, decides.
    if (!this.opts.cutLiveFlows || this.flows.size === 0 || (this.live && this.live.current !== this)) return 0;
    let cut = 0;
    for (const [conn, flow] of this.flows) {
      if (conn.closed) {
        // Its instance stopped before its onClose came (a drain timeout): nothing else removes it.
        this.flows.delete(conn);
        continue;
      }
      const stage = flow.stage;
      if (stage > 2) flow.stage = 2;
      const d = this.engine.evaluate(flow);
      flow.stage = stage;
      if (d.verdict !== 'deny') continue;
      conn.cut(`segmentation: ${d.by}`);
      this.denied(flow, d);
      cut++;
    }
    if (cut) this.log?.info({ cut }, 'segmentation: live flows cut');
    this.onCut?.(cut);
    return cut;
  }

  /**
   * Loads the rules and entries the API or the analyzer added before a restart; with `prune`,
   * stored ones that no longer fit the config (a segment gone) are deleted from the store.
   */
  async restore(prune = true): Promise<{ rules: number; entries: number; dropped: number }> {
    if (!this.store) return { rules: 0, entries: 0, dropped: 0 };
    let rules = 0;
    let entries = 0;
    let dropped = 0;
    const now = Date.now();
    for await (const [key, stored] of this.store.entries<StoredRule>('rule:')) {
      try {
        const rule = this.compile(stored.input, stored.origin);
        if (rule.expiresAt !== 0 && rule.expiresAt <= now) throw new Error('expired');
        this.engine.addRule(rule);
        rules++;
      } catch (err) {
        this.log?.warn({ key, err: (err as Error).message }, 'segmentation: stored rule dropped');
        if (prune) void this.store.delete(key);
        dropped++;
      }
    }
    for await (const [key, stored] of this.store.entries<{ origin: Origin; addedAt: number }>('entry:')) {
      // entry:<segment>|<kind>|<value>; segment names and kinds hold no '|', values may.
      const [segment, kind] = key.slice('entry:'.length).split('|', 2) as [string, EntryKind];
      const value = key.slice('entry:'.length + segment.length + kind.length + 2);
      try {
        const seg = this.engine.segment(segment);
        if (!seg) throw new Error(`no segment "${segment}"`);
        this.engine.addEntry(seg, kind, value, stored.origin, stored.addedAt);
        entries++;
      } catch (err) {
        this.log?.warn({ key, err: (err as Error).message }, 'segmentation: stored entry dropped');
        if (prune) void this.store.delete(key);
        dropped++;
      }
    }
    return { rules, entries, dropped };
  }

  private remove(rule: Rule, who: Origin, type: string): Rule {
    this.engine.removeRule(rule.id);
    if (rule.origin !== 'config') void this.store?.delete(`rule:${rule.id}`);
    this.audit?.append(type, who, { rule: describeRule(rule) });
    return rule;
  }

  private persistRule(rule: Rule): void {
    if (rule.origin === 'config') return;
    const stored: StoredRule = { input: rule.input, origin: rule.origin };
    const ttlMs = rule.expiresAt ? Math.max(1, rule.expiresAt - Date.now()) : undefined;
    void this.store?.set(`rule:${rule.id}`, stored, ttlMs ? { ttlMs } : undefined);
  }

  private writable(id: string): Rule {
    const r = this.engine.rules.get(id);
    if (!r) throw new SegmentationError('WEAVER_ERR_SEG_NOT_FOUND', `no rule with id "${id}"`);
    if (r.origin === 'config') throw new SegmentationError('WEAVER_ERR_SEG_READONLY', `rule "${id}" comes from the config file; change it there`);
    if (r.origin.startsWith('feed:')) throw new SegmentationError('WEAVER_ERR_SEG_READONLY', `rule "${id}" belongs to ${r.origin}; change the feed's options`);
    return r;
  }

  private entryArgs(segment: string, kind: unknown, value: unknown): [Segment, EntryKind, string] {
    const seg = this.engine.segment(segment);
    if (!seg) throw new SegmentationError('WEAVER_ERR_SEG_NOT_FOUND', `no segment named "${segment}"`);
    if (!ENTRY_KINDS.includes(kind as EntryKind)) throw new SegmentationError('WEAVER_ERR_SEG_ENTRY', `kind must be one of ${ENTRY_KINDS.join(', ')}`);
    if (typeof value !== 'string') throw new SegmentationError('WEAVER_ERR_SEG_ENTRY', 'value must be a string');
    return [seg, kind as EntryKind, value];
  }
}
