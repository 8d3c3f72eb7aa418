// The behavioural analysis engine: per handshake, update the client's profiles and its
// fingerprint's signals, extract features, score, decide; per request, check the User-Agent
// against the TLS stack and classify the client; per response and close, learn outcomes. All of
// it synchronous and bounded: the model trains in the background (model.ts), the store is
// written by a timer (persist.ts).
import { LRUCache } from 'lru-cache';
import type { ConnectionContext, HelloInfo, RequestContext, ResponseInfo, UpstreamCandidate } from 'weaver';
import { extractFeatures, orderDrift, rankOf, vector, VECTOR_NAMES, type HelloFeatures } from './features.ts';
import { PrintTable } from './fingerprints.ts';
import type { FingerprintLists } from './lists.ts';
import { AnomalyModel } from './model.ts';
import type { BaeOptions } from './options.ts';
import { bumpBurst, bumpRate, CLASS_NAMES, hash31, nowS, ProfileTable, recentPeak, recordScore, type Profile, type ProfileClass } from './profiles.ts';
import { RandomTracker } from './randomness.ts';
import { score, type Reason } from './scoring.ts';
import { ServerReputation } from './selection.ts';
import { isGrease, uaClass } from './stacks.ts';
import { ScoreHistogram, type Telemetry } from './telemetry.ts';

export type Action = 'primary' | 'strict' | 'reject';

export interface Decision {
  /** hello: the handshake decision; request: a later one, when a request made the client suspicious. */
  phase: 'hello' | 'request';
  at: string;
  conn: string;
  address: string;
  port: number;
  ja4: string;
  ja3: string;
  score: number;
  action: Action;
  /** What the plugin did: the action, unless observeOnly. */
  enforced: boolean;
  reasons: Reason[];
}

export interface Explained extends Decision {
  features: Omit<HelloFeatures, 'ja4' | 'ja3'>;
  vector: Record<string, number>;
  forest: { raw: number; calibrated: number } | null;
}

/** What is kept per address for explain: the parts, put together only when asked. */
interface ExplainParts {
  d: Decision;
  f: HelloFeatures;
  v: number[];
  raw: number | undefined;
  forest: number | undefined;
}

const RECENT = 5_000;

/** What the engine keeps per connection (in the plugin's connection slot). */
export interface ConnState {
  ja4: string;
  clientKey: string;
  stack: 'browser' | 'library';
  score: number;
  /** What the handshake decision was. */
  action: Action;
  cls: ProfileClass;
  uaChecked: boolean;
  server: string | undefined;
}

export type Label = 0 | 1 | 2;

export class Engine {
  readonly o: BaeOptions;
  readonly lists: FingerprintLists;
  readonly addresses: ProfileTable;
  readonly clients: ProfileTable;
  readonly prints: PrintTable;
  readonly randoms: RandomTracker;
  readonly model: AnomalyModel;
  readonly reputation: ServerReputation;
  /** Feedback labels: `addr:<address>`, `ja4:<ja4>`, `ja3:<ja3>` → 1 good, 2 bad. */
  readonly labels = new Map<string, Label>();
  readonly histogram = new ScoreHistogram();
  /** The latest decisions, a ring of RECENT. */
  private readonly ring: Decision[] = [];
  private ringNext = 0;
  private readonly explained: LRUCache<string, ExplainParts>;
  /** Counts since the last flush to prom-client (done on a timer, not per handshake). */
  readonly pending = { decisions: new Map<string, number>(), signals: new Map<string, number>() };
  /** Cipher order first seen (from a client not flagged) for each JA4 cipher hash. */
  private readonly cipherOrders = new LRUCache<string, Map<number, number>>({ max: 10_000 });
  private readonly telemetry: Telemetry;
  private retrainDue = false;
  private lastAttempt = 0;

  constructor(o: BaeOptions, lists: FingerprintLists, telemetry: Telemetry) {
    this.o = o;
    this.lists = lists;
    this.telemetry = telemetry;
    this.addresses = new ProfileTable('a:', o.profiles.max, o.profiles.ttlMs);
    this.clients = new ProfileTable('c:', o.profiles.max, o.profiles.ttlMs);
    this.prints = new PrintTable(20_000);
    this.randoms = new RandomTracker(200_000, 3_600_000);
    this.model = new AnomalyModel(o.model);
    this.reputation = new ServerReputation(o.selection);
    this.explained = new LRUCache<string, ExplainParts>({ max: 10_000 });
  }

  label(kind: 'addr' | 'ja4' | 'ja3', value: string): Label {
    return this.labels.get(`${kind}:${value}`) ?? 0;
  }

  /** Scores one ClientHello and decides where it goes. */
  analyze(conn: ConnectionContext, hello: HelloInfo, state: ConnState): Decision {
    const now = Date.now();
    const t = nowS(now);
    const addr = conn.remoteAddress;
    const ja4 = hello.ja4;
    const ja3 = hello.ja3;
    const clientKey = `${addr}|${ja4}`;

    const a = this.addresses.touch(addr, t);
    const sourceRate = bumpRate(a, t);
    const sourceBurst = bumpBurst(a, now);
    const printHash = hash31(ja4);
    if (a.conns > 0 && a.lastPrint !== printHash) a.prints++;
    a.lastPrint = printHash;
    a.last = t;
    a.conns++;
    const c = this.clients.touch(clientKey, t);
    bumpRate(c, t);
    c.last = t;
    c.conns++;

    const stats = this.prints.handshake(ja4, addr, now);
    const print = stats.signals(now);
    const randomSeen = this.randoms.record(hello.parsed.random);
    if (randomSeen > 0) a.randomReuse++;
    const ja3Hit = this.lists.lookup(ja3);
    const ja4Hit = this.lists.lookup(ja4);
    const labelPrint = Math.max(this.label('ja4', ja4), this.label('ja3', ja3)) as Label;
    const knownGood = ja4Hit?.verdict === 'good' || ja3Hit?.verdict === 'good' || labelPrint === 1;

    const ciphers = hello.parsed.ciphers.filter((x) => !isGrease(x));
    const ja4b = ja4.split('_')[1] ?? '';
    const reference = this.cipherOrders.get(ja4b);
    const f = extractFeatures(
      hello,
      {
        knownApp: ja4Hit?.verdict === 'good' ? ja4Hit.good : undefined,
        knownGood,
        randomSeen,
        cipherOrderDrift: reference ? orderDrift(ciphers, reference) : 0,
        sourceRate,
        sourceBurst,
        printRate: print.handshakes / 360,
        printSources: print.sources,
        sourcePrints: a.prints + 1,
      },
      now,
    );
    const v = vector(f);
    const raw = this.model.raw(v);
    const forest = raw === undefined ? undefined : this.model.calibrated(raw);
    const scored = score(
      {
        f,
        ja3Hit,
        ja4Hit,
        print,
        forest,
        history: Math.max(recentPeak(a, t), recentPeak(c, t)),
        uaMismatches: c.uaMismatch,
        labelSource: this.label('addr', addr),
        labelPrint,
      },
      this.o,
    );

    const action: Action = scored.score >= this.o.rejectThreshold ? 'reject' : scored.score >= this.o.threshold ? 'strict' : 'primary';
    recordScore(a, scored.score, scored.evidence, t);
    recordScore(c, scored.score, scored.evidence, t);
    if (action === 'primary' && !reference && ciphers.length > 1) this.cipherOrders.set(ja4b, rankOf(ciphers));
    this.model.record({ v, source: addr, print: ja4, score: scored.score });
    if (!this.model.ready && this.model.samples >= this.o.model.minSamples) this.retrainSoon();

    // A contradiction already on the profile is in this score: the request must not add it again.
    Object.assign(state, { ja4, clientKey, stack: f.stack, score: scored.score, action, cls: this.classOf(c), uaChecked: c.uaMismatch > 0 });
    const decision: Decision = {
      phase: 'hello',
      at: new Date(now).toISOString(),
      conn: conn.id,
      address: addr,
      port: conn.remotePort,
      ja4,
      ja3,
      score: scored.score,
      action,
      enforced: !this.o.observeOnly,
      reasons: scored.reasons.slice(0, 5),
    };
    this.remember(decision, f, v, raw, forest);
    return decision;
  }

  private remember(d: Decision, f: HelloFeatures, v: number[], raw: number | undefined, forest: number | undefined): void {
    this.record(d);
    this.explained.set(d.address, { d, f, v, raw, forest });
    this.histogram.add(d.score, d.action, d.action === 'primary' ? 'listener' : d.action === 'strict' ? this.o.strictPool : 'refused');
    this.telemetry.score.observe(d.score);
    for (const r of d.reasons) bump(this.pending.signals, r.signal);
  }

  /** Adds a decision to the ring of recent ones. */
  record(d: Decision): void {
    if (this.ring.length < RECENT) this.ring.push(d);
    else this.ring[this.ringNext] = d;
    this.ringNext = (this.ringNext + 1) % RECENT;
    bump(this.pending.decisions, `${d.phase}:${d.action}`);
  }

  /** The latest `limit` decisions, oldest first. */
  recent(limit: number): Decision[] {
    const n = Math.min(limit, this.ring.length);
    const out: Decision[] = [];
    for (let k = n; k >= 1; k--) out.push(this.ring[(this.ringNext - k + RECENT) % RECENT]!);
    return out;
  }

  lastExplained(addr: string): Explained | undefined {
    const e = this.explained.get(addr);
    if (!e) return undefined;
    const { ja4: _ja4, ja3: _ja3, ...features } = e.f;
    return {
      ...e.d,
      features,
      vector: Object.fromEntries(VECTOR_NAMES.map((n, i) => [n, Math.round(e.v[i]! * 1000) / 1000])),
      forest: e.raw === undefined ? null : { raw: Math.round(e.raw * 1000) / 1000, calibrated: Math.round(e.forest! * 1000) / 1000 },
    };
  }

  private classOf(c: Profile): ProfileClass {
    return CLASS_NAMES[c.cls] ?? 'unknown';
  }

  /**
   * At a request: a browser User-Agent over a non-browser TLS stack is remembered on the
   * client's profiles (the next handshake from it scores high) and raises this connection's
   * score. A connection that reaches rejectThreshold gets 403; one that reaches threshold
   * while its handshake went to the primary pool gets 421 Misdirected Request (RFC 9110
   * §15.5.20), on this and every later request, so the client comes back on a new connection
   * — which the strict pool takes. Returns the status and reason, if any.
   */
  request(req: RequestContext, state: ConnState): { status: number; reason: string } | undefined {
    const now = Date.now();
    const ua = typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : undefined;
    const uc = uaClass(ua);
    this.prints.request(state.ja4, req.httpVersion === '2.0', ua, now);
    const c = this.clients.peek(state.clientKey);
    const a = this.addresses.peek(req.connection.remoteAddress);
    if (c) c.requests++;
    if (a) a.requests++;
    const mismatch = uc === 'browser' && state.stack === 'library';
    if (mismatch && !state.uaChecked) {
      state.uaChecked = true;
      if (c) c.uaMismatch++;
      if (a) a.uaMismatch++;
      const w = this.o.weights.uaMismatch * (this.label('addr', req.connection.remoteAddress) === 1 ? 0.25 : 1);
      const before = state.score;
      state.score = Math.round((1 - (1 - before) * (1 - w)) * 1000) / 1000;
      req.connection.tag('bae.score', state.score);
      req.connection.tag('bae.reasons', 'ua-mismatch');
      const action: Action = state.score >= this.o.rejectThreshold ? 'reject' : state.score >= this.o.threshold ? 'strict' : 'primary';
      if (action !== 'primary') {
        const conn = req.connection;
        const detail = `a browser User-Agent over a ${state.stack} TLS stack`;
        this.record({
          phase: 'request',
          at: new Date(now).toISOString(),
          conn: conn.id,
          address: conn.remoteAddress,
          port: conn.remotePort,
          ja4: state.ja4,
          ja3: conn.hello?.ja3 ?? '',
          score: state.score,
          action,
          enforced: !this.o.observeOnly,
          reasons: [{ signal: 'ua-mismatch', weight: w, detail }],
        });
      }
    }
    const cls: ProfileClass =
      uc === 'bot' || mismatch || state.score >= this.o.threshold ? 'automation' : uc === 'browser' && state.stack === 'browser' ? 'browser' : 'api';
    state.cls = cls;
    req.connection.tag('bae.class', cls);
    if (c) {
      c.cls = CLASS_NAMES.indexOf(cls);
      this.clients.markChanged(state.clientKey);
    }
    if (a) this.addresses.markChanged(req.connection.remoteAddress);
    if (state.score >= this.o.rejectThreshold) return { status: 403, reason: `score ${state.score} at request (${mismatch ? 'ua-mismatch' : 'earlier signals'})` };
    if (state.score >= this.o.threshold && state.action === 'primary') return { status: 421, reason: `score ${state.score} at request: reconnect to the strict pool` };
    return undefined;
  }

  select(candidates: readonly UpstreamCandidate[], state: ConnState): UpstreamCandidate[] {
    const ranked = this.reputation.rank(candidates, state.cls);
    const first = ranked[0]!.c;
    state.server = first.id;
    this.telemetry.picks.inc({ server: first.id, class: state.cls });
    return ranked.map((r) => r.c);
  }

  response(res: ResponseInfo, state: ConnState): void {
    const now = Date.now();
    const server = res.upstream?.id ?? state.server;
    // A response Weaver made itself (502/503/504) for a server it tried counts as no answer.
    if (server) this.reputation.outcome(server, state.cls, res.upstream ? res.status : 0, res.durationMs, now);
    this.prints.response(state.ja4, res.status, now);
    if (res.status >= 400) this.prints.error(state.ja4, now);
    if (res.status >= 500) {
      const c = this.clients.peek(state.clientKey);
      if (c) c.errors++;
    }
  }

  close(outcome: string, requests: number, state: ConnState): void {
    if (!state.ja4) return;
    if (outcome !== 'ok' && outcome !== 'rejected') {
      this.prints.error(state.ja4, Date.now());
      const c = this.clients.peek(state.clientKey);
      if (c) c.errors++;
      // A connection that broke while a server was answering it counts against that server.
      if (requests > 0 && state.server && (outcome === 'error' || outcome === 'cut')) this.reputation.outcome(state.server, state.cls, 0, 0);
    }
  }

  /** Rows that must not be learnt as normal: flagged ones and those labelled bad. */
  private excluded = (row: { source: string; print: string; score: number }): boolean =>
    row.score >= this.o.threshold || this.label('addr', row.source) === 2 || this.label('ja4', row.print) === 2;

  retrain(): Promise<void> | undefined {
    this.retrainDue = false;
    return this.model.retrain(this.excluded);
  }

  /**
   * Asks for a training from the hook path or the feedback API: at most one attempt a second
   * (an attempt that finds too little to learn still costs a pass over the window), run from a
   * timer, never in the hook itself.
   */
  private retrainSoon(): void {
    if (this.retrainDue) return;
    this.retrainDue = true;
    const wait = Math.max(0, 1_000 - (Date.now() - this.lastAttempt));
    setTimeout(() => {
      // A training started meanwhile (the timer, POST /retrain) has answered the request.
      if (!this.retrainDue) return;
      this.lastAttempt = Date.now();
      void this.retrain()?.catch(() => undefined);
    }, wait).unref();
  }

  /** Applies a feedback label; returns what it changed. */
  feedback(kind: 'addr' | 'ja4' | 'ja3', value: string, label: 'good' | 'bad' | 'none'): Record<string, unknown> {
    const key = `${kind}:${value}`;
    const before = this.labels.get(key) ?? 0;
    if (label === 'none') this.labels.delete(key);
    else this.labels.set(key, label === 'good' ? 1 : 2);
    if (kind !== 'addr') {
      this.lists.remove(value, 'good');
      this.lists.remove(value, 'bad');
      if (label !== 'none') this.lists.add(value, label, 'feedback');
    } else {
      const p = this.addresses.peek(value);
      if (p) {
        p.label = label === 'good' ? 1 : label === 'bad' ? 2 : 0;
        // A verdict from an operator replaces what the profile remembered of its scores.
        if (label === 'good') p.peak = 0;
        this.addresses.markChanged(value);
      }
      if (label === 'good') {
        for (const [k, c] of this.clients.cache.entries()) {
          if (!k.startsWith(`${value}|`)) continue;
          c.peak = 0;
          c.uaMismatch = 0;
          this.clients.markChanged(k);
        }
      }
    }
    this.retrainSoon();
    return { key, before: ['none', 'good', 'bad'][before], after: label };
  }

  decideTags(conn: ConnectionContext, d: Decision): void {
    conn.tag('bae.score', d.score);
    conn.tag('bae.action', d.action);
    if (d.reasons.length > 0) conn.tag('bae.reasons', d.reasons.slice(0, 3).map((r) => r.signal).join(','));
  }
}

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}
