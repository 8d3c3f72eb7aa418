// Turns a handshake's features and what is known around it into a score in [0, 1] and its
// reasons. Each signal carries a weight in [0, 1]; they combine as a noisy OR,
// 1 − Π(1 − wᵢ), so one strong signal is enough, several weak ones add up, and the result stays
// below 1. The forest is one of the signals. A source or fingerprint labelled good damps the
// behavioural signals (not a bad list or a replayed random); one labelled bad sets a floor.
import type { Dynamic } from './features.ts';
import type { PrintStats } from './fingerprints.ts';
import type { ListHit } from './lists.ts';
import type { BaeOptions } from './options.ts';
import type { Shape } from './shape.ts';

export interface Reason {
  signal: string;
  weight: number;
  /** What the text for people is made of, by `describe`, only when someone asks: never on the hot path. */
  a?: number | string;
  b?: number | string;
  c?: number | string;
  /** Or the text itself, for a reason made off the hot path. */
  detail?: string;
}

const fixed = (x: number | string | undefined, digits: number): string => (typeof x === 'number' ? x.toFixed(digits) : String(x));

function detail(r: Reason): string {
  const { a, b, c } = r;
  switch (r.signal) {
    case 'known-bad':
      return `${a} listed as ${b}`;
    case 'known-bad-ambiguous':
      return `${a} listed as ${b}, but also as ${c}`;
    case 'random-reuse':
      return `client random seen on ${a} earlier connection(s)`;
    case 'low-entropy-random':
      return `client random has ${fixed(a, 2)} bits/byte`;
    case 'time-prefix-random':
      return 'TLS 1.3 client random starts with the current time';
    case 'dripped-hello':
      return `hello took ${a} reads`;
    case 'slow-hello':
      return `hello took ${fixed(a, 0)} ms over ${b} reads`;
    case 'flood':
      return c === 10 ? `${fixed(a, 0)} handshakes from this source in ~10 s` : `${fixed(a, 0)} handshakes from this source in ~1 s`;
    case 'scanner-ciphers':
      return `${a} suites offered, ${b} of them NULL/EXPORT/anon/RC4/DES`;
    case 'ua-mismatch':
      return `a browser User-Agent came over this ${a} TLS stack ${b} time(s)`;
    case 'fingerprint-rotation':
      return `unknown fingerprint from ${a} sources in the hour, ${fixed(b, 2)} good answers per handshake`;
    case 'fingerprint-surge':
      return `${fixed(a, 0)} handshakes of this fingerprint in ~10 s, ${fixed(b, 0)}× its usual rate`;
    case 'forged-resumption':
      return `${a} earlier resumption attempts turned down, none accepted`;
    case 'client-cert-unverified':
      return `${a} client certificate(s) that did not verify`;
    case 'history':
      return `recent peak score ${fixed(a, 2)}`;
    case 'anomaly':
      return `isolation forest: ${fixed(a, 2)} against recent traffic`;
    case 'labelled-bad':
      return `${a} labelled bad`;
    default:
      return r.signal;
  }
}

export function describe(r: Reason): { signal: string; weight: number; detail: string } {
  return { signal: r.signal, weight: r.weight, detail: r.detail ?? detail(r) };
}

export interface ScoreInput {
  s: Shape;
  d: Dynamic;
  ja3Hit: ListHit | undefined;
  print: PrintStats;
  now: number;
  /** Calibrated forest score in [0, 1], or undefined while warming up. */
  forest: number | undefined;
  /** This address's and this address+JA4's recent peak scores and UA contradictions. */
  history: number;
  uaMismatches: number;
  /** Connections of this address+JA4 so far, this one included. */
  clientConns: number;
  /** Client certificates this client presented that did not verify, and whether one did. */
  certBad: number;
  certVerified: boolean;
  labelSource: number;
  labelPrint: number;
}

export interface Scored {
  score: number;
  /** The score from what this hello and its client did, without the forest and the history: what a profile remembers. */
  evidence: number;
}

/** Signals that a "good" label does not damp: they are facts about this hello, not behaviour. */
// Compared as constants, not looked up in a Set: nothing more to bring into the cache per reason.
const hard = (signal: string): boolean => signal === 'known-bad' || signal === 'random-reuse' || signal === 'labelled-bad';

/** The first 5 minutes of a fingerprint count as 5 minutes, so a new one's first burst is a surge. */
const SURGE_MIN_SPAN_MS = 300_000;

// From half the flood rate the signal ramps up (weak alone, enough with another), at the rate
// it is the flood weight, and it grows towards 1 at twice the rate.
function ramp(ratio: number, w: number): number {
  return ratio < 0.5 ? 0 : ratio < 1 ? w * ratio : w + (1 - w) * Math.min(1, ratio - 1);
}

/**
 * The reasons of one handshake, in objects reused from one handshake to the next: the scorer
 * fills `count` of them, strongest first. Each signal is added at most once (a list hit once
 * per list kind), so the list stays a score of entries long.
 */
export class ReasonList {
  readonly items: Reason[] = [];
  count = 0;

  add(signal: string, weight: number, a?: number | string, b?: number | string, c?: number | string): void {
    if (!(weight > 0)) return; // NaN as well: one bad number must not make the score NaN
    let r = this.items[this.count];
    if (r === undefined) this.items.push((r = { signal, weight: 0, a: undefined, b: undefined, c: undefined, detail: undefined }));
    r.signal = signal;
    r.weight = Math.min(1, weight);
    r.a = a;
    r.b = b;
    r.c = c;
    this.count++;
  }
}

function listed(reasons: ReasonList, kind: string, hit: ListHit | undefined, o: BaeOptions): void {
  if (hit?.verdict === 'bad') reasons.add('known-bad', o.weights.knownBad, kind, hit.bad);
  else if (hit?.verdict === 'ambiguous') reasons.add('known-bad-ambiguous', o.weights.ambiguous, kind, hit.bad, hit.good);
}

/** Signals about the fingerprint or the model's view, re-evaluated on every handshake: not remembered as the client's own evidence. */
const notEvidence = (signal: string): boolean => signal === 'anomaly' || signal === 'history' || signal === 'fingerprint-rotation' || signal === 'fingerprint-surge';

/** Scores one handshake; its reasons are left in `reasons`, strongest first. */
export function score(input: ScoreInput, o: BaeOptions, reasons: ReasonList): Scored {
  const { s: f, d, print } = input;
  const w = o.weights;
  const s = o.signals;
  reasons.count = 0;

  listed(reasons, 'JA3', input.ja3Hit, o);
  listed(reasons, 'JA4', f.ja4Hit, o);
  if (d.randomSeen > 0) reasons.add('random-reuse', w.randomReuse, d.randomSeen);
  if (d.randomEntropy < s.lowEntropyBits) reasons.add('low-entropy-random', w.lowEntropy, d.randomEntropy);
  if (d.randomTimePrefix && f.maxVersion >= 4) reasons.add('time-prefix-random', w.timePrefix);
  if (d.reads > s.dripReads) reasons.add('dripped-hello', w.drip, d.reads);
  else if (d.reads > 1 && d.acceptToHelloMs > s.slowHelloMs) reasons.add('slow-hello', w.slowHello, d.acceptToHelloMs, d.reads);
  // Over ~10 s (a sustained flood) and over ~1 s (a burst: caught after a dozen handshakes).
  const sustained = ramp(d.sourceRate / s.floodPer10s, w.flood);
  const burst = ramp(d.sourceBurst / s.burstPer1s, w.flood);
  if (sustained > 0 || burst > 0) {
    if (sustained >= burst) reasons.add('flood', sustained, d.sourceRate, undefined, 10);
    else reasons.add('flood', burst, d.sourceBurst, undefined, 1);
  }
  if (f.weakCiphers >= s.scannerWeakCiphers || f.ciphers >= 120) reasons.add('scanner-ciphers', w.scanner, f.ciphers, f.weakCiphers);
  if (input.uaMismatches > 0) reasons.add('ua-mismatch', w.uaMismatch, f.stack, input.uaMismatches);
  // A browser stack no list knows yet is most often a new browser release, seen from many
  // sources at once: it takes three times the sources to count as a rotation.
  const unknown = !d.knownGood && input.labelPrint !== 1;
  const rotationSources = f.stack === 'browser' ? s.rotationSources * 3 : s.rotationSources;
  if (unknown && d.printSources >= rotationSources) {
    const ok = print.okPerHandshake(input.now);
    if (ok < 0.5 && print.handshakes(input.now) / d.printSources <= 3) reasons.add('fingerprint-rotation', w.rotation, d.printSources, ok);
  }
  // A surge of an unknown fingerprint, counted against a client new to it: many sources
  // sharing one stack at once, each with few connections (a distributed flood).
  if (unknown && input.clientConns <= 1 && d.printBurst >= s.printSurgePer10s) {
    const baseline = Math.max(1, (d.printRate * 360) / (Math.min(3_600_000, Math.max(SURGE_MIN_SPAN_MS, print.age(input.now))) / 10_000));
    if (d.printBurst >= s.printSurgeRatio * baseline) reasons.add('fingerprint-surge', w.printSurge, d.printBurst, d.printBurst / baseline);
  }
  if (d.resumeFails >= s.resumeFails && d.resumed === 0 && d.resumption > 0) reasons.add('forged-resumption', w.forgedResumption, d.resumeFails);
  if (input.certBad > 0) reasons.add('client-cert-unverified', w.certUnverified, input.certBad);
  if (input.history >= o.threshold) reasons.add('history', w.history * input.history, input.history);
  if (input.forest !== undefined) reasons.add('anomaly', o.model.weight * input.forest, input.forest);
  if (input.labelSource === 2 || input.labelPrint === 2) reasons.add('labelled-bad', w.labelledBad, input.labelSource === 2 ? 'source' : 'fingerprint');

  // A label "good" or a client certificate that verified: behaviour counts for a quarter.
  const damp = input.labelSource === 1 || input.labelPrint === 1 || input.certVerified ? 0.25 : 1;
  let keep = 1;
  let keepEvidence = 1;
  const list = reasons.items;
  const n = reasons.count;
  for (let i = 0; i < n; i++) {
    const r = list[i]!;
    const weight = hard(r.signal) ? r.weight : r.weight * damp;
    keep *= 1 - weight;
    // The forest's view and the history are not remembered as evidence, or one odd but benign
    // handshake would keep its client flagged through the history signal; nor is what is said
    // about the fingerprint, which is looked at again on every handshake.
    if (!notEvidence(r.signal)) keepEvidence *= 1 - weight;
  }
  // Strongest first. A handful at most: an insertion sort, where Array.prototype.sort would
  // copy them into a work array on every handshake.
  for (let i = 1; i < n; i++) {
    const r = list[i]!;
    let j = i;
    for (; j > 0 && list[j - 1]!.weight < r.weight; j--) list[j] = list[j - 1]!;
    list[j] = r;
  }
  return { score: Math.round((1 - keep) * 1000) / 1000, evidence: Math.round((1 - keepEvidence) * 1000) / 1000 };
}
