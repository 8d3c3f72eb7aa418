// One client profile as the table stores it: a row of 32-bit integers in a shared Int32Array,
// not an object. A million profiles are then a few flat arrays the GC never walks, and a new
// client costs no object that outlives its handshake (a short-lived ProfileRow view, at most).
// The fields are integers by design (scaled counts, seconds since EPOCH_S, hashes below 2³¹).

/** The fields in row order. Appending is safe (stored rows shorter than this load with the rest at 0). */
export const FIELDS = [
  'first', 'last', 'conns', 'rate', 'burst', 'burstAt', 'score', 'peak', 'peakAt', 'requests', 'errors',
  'uaMismatch', 'randomReuse', 'prints', 'lastPrint', 'resumed', 'resumeFails', 'certs', 'certBad', 'cls', 'label',
] as const;
export const ROW = FIELDS.length;
// After the profile, in the same cache lines: the table's own bookkeeping (which generation
// the row belongs to, whether it changed since the last save, when it was last written and a
// hash of what it held then, see profiles.ts's `lasting`) and a number its owner may keep there
// (the engine: the ring row of the address's last handshake decision). None of them is saved.
export const GEN = ROW;
export const CHANGED = ROW + 1;
export const NOTE = ROW + 2;
export const SAVED_AT = ROW + 3;
export const SAVED_HASH = ROW + 4;
export const STRIDE = ROW + 5;

export interface Profile {
  /** First and last sighting, seconds since EPOCH_S. */
  first: number;
  last: number;
  conns: number;
  /** Decayed count of handshakes (τ = 10 s), ×100. */
  rate: number;
  /** Decayed count of handshakes (τ = 1 s), ×100, and when it was last bumped (ms mod 2³⁰). */
  burst: number;
  burstAt: number;
  /** Last score, and the highest recent evidence score (decays, half-life 10 min), both ×1000. */
  score: number;
  peak: number;
  peakAt: number;
  requests: number;
  errors: number;
  uaMismatch: number;
  randomReuse: number;
  /** How often the fingerprint changed from one connection to the next. */
  prints: number;
  lastPrint: number;
  /** Resumption attempts (session id, ticket, PSK) the server accepted, and those it turned down. */
  resumed: number;
  resumeFails: number;
  /** Client certificates presented when asked, and how many of them did not verify. */
  certs: number;
  certBad: number;
  /** Index in CLASS_NAMES / LABEL_NAMES. */
  cls: number;
  label: number;
}

export function newProfile(t: number): Profile {
  return { first: t, last: t, conns: 0, rate: 0, burst: 0, burstAt: 0, score: 0, peak: 0, peakAt: t, requests: 0, errors: 0, uaMismatch: 0, randomReuse: 0, prints: 0, lastPrint: 0, resumed: 0, resumeFails: 0, certs: 0, certBad: 0, cls: 0, label: 0 };
}

/** A plain copy (a view's fields are accessors: object spread would copy none of them). */
export function copyProfile(p: Profile): Profile {
  const out = newProfile(0);
  for (const f of FIELDS) out[f] = p[f];
  return out;
}

const INT32_MAX = 0x7fffffff;
/** Counts stop at the largest 32-bit integer instead of wrapping negative. */
const sat = (v: number): number => (v > INT32_MAX ? INT32_MAX : v);

/** Reads and writes one row in place. Constant offsets, so V8 inlines each access to a load. */
export class ProfileRow implements Profile {
  private readonly d: Int32Array;
  private readonly o: number;

  constructor(d: Int32Array, o: number) {
    this.d = d;
    this.o = o;
  }

  get first(): number { return this.d[this.o]!; }
  set first(v: number) { this.d[this.o] = sat(v); }
  get last(): number { return this.d[this.o + 1]!; }
  set last(v: number) { this.d[this.o + 1] = sat(v); }
  get conns(): number { return this.d[this.o + 2]!; }
  set conns(v: number) { this.d[this.o + 2] = sat(v); }
  get rate(): number { return this.d[this.o + 3]!; }
  set rate(v: number) { this.d[this.o + 3] = sat(v); }
  get burst(): number { return this.d[this.o + 4]!; }
  set burst(v: number) { this.d[this.o + 4] = sat(v); }
  get burstAt(): number { return this.d[this.o + 5]!; }
  set burstAt(v: number) { this.d[this.o + 5] = sat(v); }
  get score(): number { return this.d[this.o + 6]!; }
  set score(v: number) { this.d[this.o + 6] = sat(v); }
  get peak(): number { return this.d[this.o + 7]!; }
  set peak(v: number) { this.d[this.o + 7] = sat(v); }
  get peakAt(): number { return this.d[this.o + 8]!; }
  set peakAt(v: number) { this.d[this.o + 8] = sat(v); }
  get requests(): number { return this.d[this.o + 9]!; }
  set requests(v: number) { this.d[this.o + 9] = sat(v); }
  get errors(): number { return this.d[this.o + 10]!; }
  set errors(v: number) { this.d[this.o + 10] = sat(v); }
  get uaMismatch(): number { return this.d[this.o + 11]!; }
  set uaMismatch(v: number) { this.d[this.o + 11] = sat(v); }
  get randomReuse(): number { return this.d[this.o + 12]!; }
  set randomReuse(v: number) { this.d[this.o + 12] = sat(v); }
  get prints(): number { return this.d[this.o + 13]!; }
  set prints(v: number) { this.d[this.o + 13] = sat(v); }
  get lastPrint(): number { return this.d[this.o + 14]!; }
  set lastPrint(v: number) { this.d[this.o + 14] = sat(v); }
  get resumed(): number { return this.d[this.o + 15]!; }
  set resumed(v: number) { this.d[this.o + 15] = sat(v); }
  get resumeFails(): number { return this.d[this.o + 16]!; }
  set resumeFails(v: number) { this.d[this.o + 16] = sat(v); }
  get certs(): number { return this.d[this.o + 17]!; }
  set certs(v: number) { this.d[this.o + 17] = sat(v); }
  get certBad(): number { return this.d[this.o + 18]!; }
  set certBad(v: number) { this.d[this.o + 18] = sat(v); }
  get cls(): number { return this.d[this.o + 19]!; }
  set cls(v: number) { this.d[this.o + 19] = sat(v); }
  get label(): number { return this.d[this.o + 20]!; }
  set label(v: number) { this.d[this.o + 20] = sat(v); }
  /** Not part of the profile: see NOTE. */
  get note(): number { return this.d[this.o + NOTE]!; }
  set note(v: number) { this.d[this.o + NOTE] = v; }
}
