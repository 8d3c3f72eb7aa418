// The behavioural analysis engine: per handshake, update the client's profiles and its
// fingerprint's signals, extract features, score, decide; after the handshake, learn how the
// client resumed and what certificate it showed; per request, check the User-Agent against the
// TLS stack and classify the client; per response and close, learn outcomes. All of it
// synchronous and bounded, and cheap on the hot path: what follows from the hello's shape is
// worked out once per shape (shape.ts), the vector is written into one reused array and copied
// into the model's window, strings and objects for the admin API are made when it asks. The
// model trains in the background (model.ts), the store is written by a timer (persist.ts).
import type { ConnectionContext, HandshakeInfo, HelloInfo, RequestContext, ResponseInfo, UpstreamCandidate } from 'weaver';
import { DecisionLog, type Action, type Decision } from './decisions.ts';
import { MAX_REASONS } from './decision-columns.ts';
import { newDynamic, orderDrift, rankOf, VECTOR_SIZE, writeVector, type Dynamic } from './features.ts';
import { PrintTable, type PrintStats } from './fingerprints.ts';
import type { FingerprintLists } from './lists.ts';
import { Labels, type Label, type LabelKind } from './labels.ts';
import { AnomalyModel, type TrainingReason } from './model.ts';
import { Training } from './training.ts';
import type { BaeOptions } from './options.ts';
import { digestPair, digestSecret } from './digest.ts';
import { keyOf, ProfileTable } from './profile-table.ts';
import { bumpBurst, bumpRate, CLASS_NAMES, LABEL_NAMES, msOf, nowS, recentPeak, recordScore, type ProfileClass } from './profiles.ts';
import { byteEntropy, RandomTracker, timeLikePrefix } from './randomness.ts';
import { ReasonList, score, type ScoreInput } from './scoring.ts';
import { ServerReputation } from './selection.ts';
import { resumption, ShapeCache, type Shape } from './shape.ts';
import { uaClass } from './stacks.ts';
import { Tallies, type Telemetry } from './telemetry.ts';

export type { Action, Decision } from './decisions.ts';

/** What the engine keeps per connection (in the plugin's connection slot). */
export interface ConnState {
  ja4: string;
  /** The connection's address, for the profiles (address, and address + ja4), and their table keys. */
  address: string;
  addressKey: number;
  clientKey: number;
  stack: 'browser' | 'library';
  score: number;
  /** What the handshake decision was. */
  action: Action;
  cls: ProfileClass;
  uaChecked: boolean;
  server: string | undefined;
  /** The hello's resumption attempt (see Dynamic.resumption). */
  resumption: number;
}

/** A connection's state before its hello is analysed. */
export const newConnState = (): ConnState => ({
  ja4: '', address: '', addressKey: 0, clientKey: 0, stack: 'library', score: 0, action: 'primary', cls: 'unknown', uaChecked: false, server: undefined, resumption: 0,
});

export type { Label, LabelKind } from './labels.ts';

const combine = (score: number, w: number): number => Math.round((1 - (1 - score) * (1 - w)) * 1000) / 1000;

export class Engine {
  readonly o: BaeOptions;
  readonly lists: FingerprintLists;
  readonly addresses: ProfileTable;
  readonly clients: ProfileTable;
  readonly prints: PrintTable;
  readonly randoms: RandomTracker;
  readonly model: AnomalyModel;
  readonly reputation: ServerReputation;
  readonly shapes = new ShapeCache();
  readonly labels: Labels;
  private readonly training: Training;
  readonly decisions = new DecisionLog();
  /** Counts since the last flush to prom-client (done on a timer, not per handshake); hello decisions and scores in `tallies`, later phases' decisions in `decisions`. */
  readonly pending: { tallies: Tallies; decisions: Map<string, number>; signals: Map<string, number> };
  /** `action:pool` for the histogram's routings, made once. */
  readonly routing: Record<Action, string>;
  /** Cipher order first seen (from a client not flagged) for each JA4 cipher hash. */
  private readonly cipherOrders = new Map<string, Map<number, number>>();
  private readonly telemetry: Telemetry;
  private readonly vector = new Float64Array(VECTOR_SIZE);
  // Filled in place on every handshake (analyze): nothing of them outlives the call but what
  // DecisionLog copies into its rows.
  private readonly dyn: Dynamic = newDynamic();
  private readonly reasons = new ReasonList();
  private readonly decision: Decision = {
    phase: 'hello', at: 0, conn: '', address: '', port: 0, ja4: '', ja3: '', score: 0, action: 'primary', enforced: false, reasons: this.reasons.items, reasonCount: 0,
  };
  private readonly input: ScoreInput = {
    s: undefined as unknown as Shape,
    d: undefined as unknown as Dynamic,
    ja3Hit: undefined,
    print: undefined as unknown as PrintStats,
    now: 0,
    forest: undefined,
    history: 0,
    uaMismatches: 0,
    clientConns: 0,
    certBad: 0,
    certVerified: false,
    labelSource: 0,
    labelPrint: 0,
  };

  constructor(o: BaeOptions, lists: FingerprintLists, telemetry: Telemetry) {
    this.o = o;
    this.lists = lists;
    this.labels = new Labels(lists);
    this.telemetry = telemetry;
    this.pending = { tallies: new Tallies(telemetry.score), decisions: new Map(), signals: new Map() };
    this.addresses = new ProfileTable('a:', o.profiles.max, o.profiles.ttlMs);
    this.clients = new ProfileTable('c:', o.profiles.max, o.profiles.ttlMs);
    this.prints = new PrintTable(20_000);
    this.randoms = new RandomTracker(200_000, 3_600_000);
    this.model = new AnomalyModel(o.model);
    this.training = new Training(this.model, this.labels, o.threshold);
    this.reputation = new ServerReputation(o.selection);
    this.routing = { primary: 'primary:listener', strict: `strict:${o.strictPool}`, reject: 'reject:refused' };
  }

  label(kind: LabelKind, value: string): Label {
    return this.labels.get(kind, value);
  }

  /** Scores one ClientHello and decides where it goes. The decision is the engine's own, valid until the next call. */
  analyze(conn: ConnectionContext, hello: HelloInfo, state: ConnState): Decision {
    const now = Date.now();
    const t = nowS(now);
    const addr = conn.remoteAddress;
    const p = hello.parsed;
    const s = this.shapes.get(hello, this.lists);
    const ja4 = s.ja4;
    const ja3 = hello.ja3;

    // The address is digested once, for both tables; the JA4 once per shape.
    const addressKey = digestSecret(addr);
    const clientKey = digestPair(addressKey, s.ja4Key);
    const a = this.addresses.touch(addr, undefined, t, addressKey);
    const sourceRate = bumpRate(a, t);
    const sourceBurst = bumpBurst(a, now);
    const printHash = s.printHash;
    if (a.conns > 0 && a.lastPrint !== printHash) a.prints++;
    a.lastPrint = printHash;
    a.last = t;
    a.conns++;
    const c = this.clients.touch(addr, ja4, t, clientKey);
    // When this source last used this fingerprint, for the fingerprint's distinct sources.
    const lastWithPrint = c.conns === 0 ? -1 : msOf(c.last);
    bumpRate(c, t);
    c.last = t;
    c.conns++;

    const print = (s.print = this.prints.handshake(ja4, s.print, lastWithPrint, now));
    const randomSeen = this.randoms.record(p.random, now);
    if (randomSeen > 0) a.randomReuse++;
    if (s.ja3 !== ja3) {
      s.ja3 = ja3;
      s.ja3Hit = this.lists.lookup(ja3);
    }
    const ja3Hit = s.ja3Hit;
    const labelPrint = Math.max(this.label('ja4', ja4), this.label('ja3', ja3));
    const knownGood = s.ja4Hit?.verdict === 'good' || ja3Hit?.verdict === 'good' || labelPrint === 1;
    if (s.drift === undefined && s.suites.length > 1) {
      const reference = this.cipherOrders.get(s.ja4b);
      if (reference) s.drift = orderDrift(s.suites, reference);
    }
    let maxGap = 0;
    const gaps = hello.arrival.gapsMs;
    for (let i = 0; i < gaps.length; i++) if (gaps[i]! > maxGap) maxGap = gaps[i]!;
    const d = this.dyn;
    d.reads = hello.arrival.reads;
    d.maxGapMs = maxGap;
    d.acceptToHelloMs = hello.arrival.acceptToCompleteMs;
    d.randomEntropy = byteEntropy(p.random);
    d.randomTimePrefix = timeLikePrefix(p.random, now);
    d.randomSeen = randomSeen;
    d.sessionIdLength = p.sessionId.length;
    d.resumption = resumption(hello, s);
    d.resumeFails = c.resumeFails;
    d.resumed = c.resumed;
    d.cipherOrderDrift = s.drift ?? 0;
    d.sourceRate = sourceRate;
    d.sourceBurst = sourceBurst;
    d.printRate = print.handshakes(now) / 360;
    d.printBurst = print.burst(now);
    d.printSources = print.distinctSources(now);
    d.sourcePrints = a.prints + 1;
    d.knownGood = knownGood;
    const v = this.vector;
    const raw = this.model.raw(v, writeVector(s, d, p.helloLength, v));
    const forest = raw === undefined ? undefined : this.model.calibrated(raw);
    // One input object, filled in place: nothing of it outlives the call.
    const input = this.input;
    input.s = s;
    input.d = d;
    input.ja3Hit = ja3Hit;
    input.print = print;
    input.now = now;
    input.forest = forest;
    input.history = Math.max(recentPeak(a, t), recentPeak(c, t));
    input.uaMismatches = c.uaMismatch;
    input.clientConns = c.conns;
    input.certBad = c.certBad;
    input.certVerified = c.certs > c.certBad;
    input.labelSource = this.label('addr', addr);
    input.labelPrint = labelPrint;
    const scored = score(input, this.o, this.reasons);

    const action = this.actionFor(scored.score);
    recordScore(a, scored.score, scored.evidence, t);
    recordScore(c, scored.score, scored.evidence, t);
    if (action === 'primary' && s.drift === undefined && s.suites.length > 1 && !this.cipherOrders.has(s.ja4b) && this.cipherOrders.size < 10_000) {
      this.cipherOrders.set(s.ja4b, rankOf(s.suites));
    }
    this.model.add(v, addr, ja4, scored.score);
    if (!this.model.ready && !this.model.busy && this.model.samples >= this.o.model.minSamples) this.training.soon('warm-up');

    // A contradiction already on the profile is in this score: the request must not add it again.
    state.ja4 = ja4;
    state.address = addr;
    state.addressKey = addressKey;
    state.clientKey = clientKey;
    state.stack = s.stack;
    state.score = scored.score;
    state.action = action;
    state.cls = CLASS_NAMES[c.cls] ?? 'unknown';
    state.uaChecked = c.uaMismatch > 0;
    state.resumption = d.resumption;
    const decision = this.decision;
    decision.at = now;
    decision.conn = conn.id;
    decision.address = addr;
    decision.port = conn.remotePort;
    decision.ja4 = ja4;
    decision.ja3 = ja3;
    decision.score = scored.score;
    decision.action = action;
    decision.enforced = !this.o.observeOnly;
    decision.reasonCount = Math.min(MAX_REASONS, this.reasons.count);
    this.decisions.keep(decision, a, s, d, p.helloLength, raw, forest);
    this.pending.tallies.hello(scored.score, action);
    for (let i = 0; i < decision.reasonCount; i++) bump(this.pending.signals, decision.reasons[i]!.signal);
    return decision;
  }

  private actionFor(score: number): Action {
    return score >= this.o.rejectThreshold ? 'reject' : score >= this.o.threshold ? 'strict' : 'primary';
  }

  /** Adds a decision made after the handshake to the ring of recent ones. */
  private record(d: Decision): void {
    this.decisions.add(d);
    bump(this.pending.decisions, `${d.phase}:${d.action}`);
  }

  /** A later decision on this connection (after the handshake, at a request), recorded when it is not `primary`. */
  private raise(conn: ConnectionContext, state: ConnState, phase: Exclude<Decision['phase'], 'hello'>, signal: string, w: number, detail: string): Action {
    state.score = combine(state.score, w);
    conn.tag('bae.score', state.score);
    conn.tag('bae.reasons', signal);
    const action = this.actionFor(state.score);
    if (action !== 'primary') {
      this.record({
        phase,
        at: Date.now(),
        conn: conn.id,
        address: conn.remoteAddress,
        port: conn.remotePort,
        ja4: state.ja4,
        ja3: conn.hello?.ja3 ?? '',
        score: state.score,
        action,
        enforced: !this.o.observeOnly,
        reasons: [{ signal, weight: w, detail }],
        reasonCount: 1,
      });
    }
    return action;
  }

  /**
   * After the handshake: whether a resumption the hello attempted was accepted (a client
   * resuming with what it was issued) or turned down (a forged or foreign ticket or session
   * id: counted, and at `signals.resumeFails` it scores), and what client certificate came when
   * the pool asked for one. A certificate that does not verify raises this connection's score
   * at once; returns the action when that made it more than `primary`.
   */
  handshakeDone(conn: ConnectionContext, tls: HandshakeInfo, state: ConnState): Action | undefined {
    if (!state.ja4) return undefined;
    const t = nowS();
    const cert = tls.clientCertificate;
    if (state.resumption === 0 && !cert) return undefined;
    const c = this.clients.peek(state.clientKey, t);
    const a = this.addresses.peek(state.addressKey, t);
    for (const p of [c, a]) {
      if (!p) continue;
      if (state.resumption > 0) {
        if (tls.resumed) p.resumed++;
        else p.resumeFails++;
      }
      if (cert) {
        p.certs++;
        if (!cert.authorized) p.certBad++;
      }
    }
    if (c) this.clients.markChanged(state.clientKey);
    if (a) this.addresses.markChanged(state.addressKey);
    if (!cert || cert.authorized) return undefined;
    const action = this.raise(conn, state, 'handshake', 'client-cert-unverified', this.o.weights.certUnverified, `client certificate ${cert.subject} did not verify: ${cert.authorizationError ?? 'unknown'}`);
    return action === 'primary' ? undefined : action;
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
    const t = nowS(now);
    const c = this.clients.peek(state.clientKey, t);
    const a = this.addresses.peek(state.addressKey, t);
    if (c) c.requests++;
    if (a) a.requests++;
    const mismatch = uc === 'browser' && state.stack === 'library';
    if (mismatch && !state.uaChecked) {
      state.uaChecked = true;
      if (c) c.uaMismatch++;
      if (a) a.uaMismatch++;
      const w = this.o.weights.uaMismatch * (this.label('addr', req.connection.remoteAddress) === 1 ? 0.25 : 1);
      this.raise(req.connection, state, 'request', 'ua-mismatch', w, `a browser User-Agent over a ${state.stack} TLS stack`);
    }
    const cls: ProfileClass =
      uc === 'bot' || mismatch || state.score >= this.o.threshold ? 'automation' : uc === 'browser' && state.stack === 'browser' ? 'browser' : 'api';
    state.cls = cls;
    req.connection.tag('bae.class', cls);
    if (c) {
      c.cls = CLASS_NAMES.indexOf(cls);
      this.clients.markChanged(state.clientKey);
    }
    if (a) this.addresses.markChanged(state.addressKey);
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

  retrain(reason: TrainingReason): Promise<void> | undefined {
    return this.training.now(reason);
  }

  /** Applies a feedback label; returns what it changed. */
  feedback(kind: LabelKind, value: string, label: 'good' | 'bad' | 'none'): Record<string, unknown> {
    const before = this.label(kind, value);
    const code = LABEL_NAMES.indexOf(label) as Label;
    this.labels.set(kind, value, code);
    if (kind === 'addr') {
      const p = this.addresses.peek(keyOf(value));
      if (p) {
        p.label = code;
        // A verdict from an operator replaces what the profile remembered of its scores.
        if (label === 'good') p.peak = 0;
        this.addresses.markChanged(keyOf(value));
      }
      if (label === 'good') {
        for (const [k, c] of this.clients.entries()) {
          if (!k.startsWith(`${value}|`)) continue;
          c.peak = 0;
          c.uaMismatch = 0;
          c.certBad = 0;
          c.resumeFails = 0;
          this.clients.markChanged(keyOf(value, k.slice(value.length + 1)));
        }
      }
    }
    this.training.soon('feedback');
    return { key: `${kind}:${value}`, before: LABEL_NAMES[before], after: label };
  }
}

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}
