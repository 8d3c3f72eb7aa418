// Turns a handshake's features and what is known around it into a score in [0, 1] and its
// reasons. Each signal carries a weight in [0, 1]; they combine as a noisy OR,
// 1 − Π(1 − wᵢ), so one strong signal is enough, several weak ones add up, and the result stays
// below 1. The forest is one of the signals. A source or fingerprint labelled good damps the
// behavioural signals (not a bad list or a replayed random); one labelled bad sets a floor.
import type { HelloFeatures } from './features.ts';
import type { PrintSignals } from './fingerprints.ts';
import type { ListHit } from './lists.ts';
import type { BaeOptions } from './options.ts';

export interface Reason {
  signal: string;
  weight: number;
  detail: string;
}

export interface ScoreInput {
  f: HelloFeatures;
  ja3Hit: ListHit | undefined;
  ja4Hit: ListHit | undefined;
  print: PrintSignals;
  /** Calibrated forest score in [0, 1], or undefined while warming up. */
  forest: number | undefined;
  /** This address's and this address+JA4's recent peak scores and UA contradictions. */
  history: number;
  uaMismatches: number;
  labelSource: number;
  labelPrint: number;
}

export interface Scored {
  score: number;
  /** The score from what this hello and its client did, without the forest and the history: what a profile remembers. */
  evidence: number;
  reasons: Reason[];
}

/** Signals that a "good" label does not damp: they are facts about this hello, not behaviour. */
const HARD = new Set(['known-bad', 'random-reuse', 'labelled-bad']);

export function score(input: ScoreInput, o: BaeOptions): Scored {
  const { f, print } = input;
  const w = o.weights;
  const s = o.signals;
  const reasons: Reason[] = [];
  const add = (signal: string, weight: number, detail: string): void => {
    if (weight > 0) reasons.push({ signal, weight: Math.min(1, weight), detail });
  };

  for (const [kind, hit] of [['JA3', input.ja3Hit], ['JA4', input.ja4Hit]] as const) {
    if (hit?.verdict === 'bad') add('known-bad', w.knownBad, `${kind} listed as ${hit.bad}`);
    else if (hit?.verdict === 'ambiguous') add('known-bad-ambiguous', w.ambiguous, `${kind} listed as ${hit.bad}, but also as ${hit.good}`);
  }
  if (f.randomSeen > 0) add('random-reuse', w.randomReuse, `client random seen on ${f.randomSeen} earlier connection(s)`);
  if (f.randomEntropy < s.lowEntropyBits) add('low-entropy-random', w.lowEntropy, `client random has ${f.randomEntropy.toFixed(2)} bits/byte`);
  if (f.randomTimePrefix && f.maxVersion >= 4) add('time-prefix-random', w.timePrefix, 'TLS 1.3 client random starts with the current time');
  if (f.reads > s.dripReads) add('dripped-hello', w.drip, `hello took ${f.reads} reads`);
  else if (f.reads > 1 && f.acceptToHelloMs > s.slowHelloMs) add('slow-hello', w.slowHello, `hello took ${Math.round(f.acceptToHelloMs)} ms over ${f.reads} reads`);
  // From half the flood rate the signal ramps up (weak alone, enough with another), at the
  // rate it is the flood weight, and it grows towards 1 at twice the rate.
  // Over ~10 s (a sustained flood) and over ~1 s (a burst: caught after a dozen handshakes).
  const ramp = (ratio: number): number => (ratio < 0.5 ? 0 : ratio < 1 ? w.flood * ratio : w.flood + (1 - w.flood) * Math.min(1, ratio - 1));
  const sustained = ramp(f.sourceRate / s.floodPer10s);
  const burst = ramp(f.sourceBurst / s.burstPer1s);
  if (sustained > 0 || burst > 0) {
    const detail = sustained >= burst ? `${f.sourceRate.toFixed(0)} handshakes from this source in ~10 s` : `${f.sourceBurst.toFixed(0)} handshakes from this source in ~1 s`;
    add('flood', Math.max(sustained, burst), detail);
  }
  if (f.weakCiphers >= s.scannerWeakCiphers || f.ciphers >= 120) {
    add('scanner-ciphers', w.scanner, `${f.ciphers} suites offered, ${f.weakCiphers} of them NULL/EXPORT/anon/RC4/DES`);
  }
  if (input.uaMismatches > 0) add('ua-mismatch', w.uaMismatch, `a browser User-Agent came over this ${f.stack} TLS stack ${input.uaMismatches} time(s)`);
  // A browser stack no list knows yet is most often a new browser release, seen from many
  // sources at once: it takes three times the sources to count as a rotation.
  const unknown = !f.knownGood && input.labelPrint !== 1;
  const rotationSources = f.stack === 'browser' ? s.rotationSources * 3 : s.rotationSources;
  if (unknown && print.sources >= rotationSources && print.okPerHandshake < 0.5 && print.handshakesPerSource <= 3) {
    add('fingerprint-rotation', w.rotation, `unknown fingerprint from ${print.sources} sources in the hour, ${print.okPerHandshake.toFixed(2)} good answers per handshake`);
  }
  if (input.history >= o.threshold) add('history', w.history * input.history, `recent peak score ${input.history.toFixed(2)}`);
  if (input.forest !== undefined) add('anomaly', o.model.weight * input.forest, `isolation forest: ${input.forest.toFixed(2)} against recent traffic`);
  if (input.labelSource === 2 || input.labelPrint === 2) add('labelled-bad', w.labelledBad, `${input.labelSource === 2 ? 'source' : 'fingerprint'} labelled bad`);

  const damp = input.labelSource === 1 || input.labelPrint === 1 ? 0.25 : 1;
  let keep = 1;
  let keepEvidence = 1;
  for (const r of reasons) {
    const weight = HARD.has(r.signal) ? r.weight : r.weight * damp;
    keep *= 1 - weight;
    // The forest's view and the history are not remembered as evidence, or one odd but benign
    // handshake would keep its client flagged through the history signal.
    if (r.signal !== 'anomaly' && r.signal !== 'history') keepEvidence *= 1 - weight;
  }
  reasons.sort((a, b) => b.weight - a.weight);
  return { score: Math.round((1 - keep) * 1000) / 1000, evidence: Math.round((1 - keepEvidence) * 1000) / 1000, reasons };
}
