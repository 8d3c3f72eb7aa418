// What one TLS stack's hellos share, worked out once per hello shape (HelloInfo.shape: the
// hello less its random, session id, key shares, GREASE values and extension order) instead of
// on every handshake: JA4 and its parts, list sizes, GREASE, ALPN/SNI, weak suites, the stack
// class and list verdict, and the columns of the model's vector that follow from them. The
// cache is bounded; a list change (feedback) is picked up through the lists' version.
import { isGrease, TLS_EXTENSION as EXT, type HelloInfo } from 'weaver';
import { COLUMNS, VECTOR_SIZE } from './features.ts';
import { digestSecret } from './digest.ts';
import { hash31 } from './profiles.ts';
import { Generations } from './generations.ts';
import type { PrintStats } from './fingerprints.ts';
import type { FingerprintLists, ListHit } from './lists.ts';
import { isWeakCipher, stackClass, type StackClass } from './stacks.ts';

const MAX_SHAPES = 4096;

export interface Shape {
  /** A number of its own, for keys (see writeVector). */
  id: number;
  ja4: string;
  /** hash31 of the JA4: what a profile remembers of its last fingerprint. */
  printHash: number;
  /** Its digest (digest.ts), for the address+JA4 profile's key. */
  ja4Key: number;
  ja4a: string;
  ja4b: string;
  ja4c: string;
  /** Highest version offered, 0 = SSL 3.0 … 4 = TLS 1.3 (supported_versions, else legacy_version). */
  maxVersion: number;
  versions: number;
  ciphers: number;
  extensions: number;
  groups: number;
  sigalgs: number;
  grease: boolean;
  weakCiphers: number;
  alpn: boolean;
  h2: boolean;
  sni: boolean;
  keyShares: number;
  sessionTicketExt: boolean;
  pskExt: boolean;
  /** Non-GREASE suites in wire order (for the cipher-order drift). */
  suites: number[];
  /** Cipher-order drift against the reference order of this cipher set, once one exists. */
  drift: number | undefined;
  /** The lists' version the verdict, stack and `base` were worked out against. */
  listsVersion: number;
  ja4Hit: ListHit | undefined;
  /** The JA3 last seen with this shape and its verdict (a stack that keeps its extension order has one). */
  ja3: string;
  ja3Hit: ListHit | undefined;
  stack: StackClass;
  /** The vector with every column that follows from the shape filled in. */
  base: Float64Array;
  /** The JA4's hour signals, held here so a handshake needs no lookup of them (see PrintTable.handshake). */
  print: PrintStats | undefined;
}

function countNonGrease(values: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (!isGrease(values[i]!)) n++;
  return n;
}

function hasGrease(values: readonly number[]): boolean {
  for (let i = 0; i < values.length; i++) if (isGrease(values[i]!)) return true;
  return false;
}

function maxOfferedVersion(hello: HelloInfo): number {
  let max = 0;
  for (const v of hello.parsed.supportedVersions) if (!isGrease(v) && v > max) max = v;
  if (max === 0) max = hello.parsed.helloVersion;
  return max >= 0x0300 && max <= 0x0304 ? max - 0x0300 : 0;
}

let nextId = 1;

function makeShape(hello: HelloInfo): Shape {
  const p = hello.parsed;
  const ja4 = hello.ja4;
  const first = ja4.indexOf('_');
  const second = ja4.indexOf('_', first + 1);
  let weak = 0;
  for (let i = 0; i < p.ciphers.length; i++) if (isWeakCipher(p.ciphers[i]!)) weak++;
  let keyShares = 0;
  for (const k of p.keyShares) if (!isGrease(k.group)) keyShares++;
  return {
    id: nextId++ % 0x40000000,
    ja4,
    printHash: hash31(ja4),
    ja4Key: digestSecret(ja4),
    ja4a: ja4.slice(0, first),
    ja4b: ja4.slice(first + 1, second),
    ja4c: ja4.slice(second + 1),
    maxVersion: maxOfferedVersion(hello),
    versions: countNonGrease(p.supportedVersions),
    ciphers: countNonGrease(p.ciphers),
    extensions: countNonGrease(p.extensionTypes),
    groups: countNonGrease(p.supportedGroups),
    sigalgs: p.signatureAlgorithms.length,
    grease: hasGrease(p.ciphers) || hasGrease(p.extensionTypes),
    weakCiphers: weak,
    alpn: p.alpn.length > 0,
    h2: p.alpn.includes('h2'),
    sni: p.sni !== undefined,
    keyShares,
    sessionTicketExt: p.extensionTypes.includes(EXT.sessionTicket),
    pskExt: p.extensionTypes.includes(EXT.preSharedKey),
    suites: p.ciphers.filter((x) => !isGrease(x)),
    drift: undefined,
    listsVersion: -1,
    ja4Hit: undefined,
    ja3: '',
    ja3Hit: undefined,
    stack: 'library',
    base: new Float64Array(VECTOR_SIZE),
    print: undefined,
  };
}

const b = (v: boolean): number => (v ? 1 : 0);

/** Works out what depends on the lists: the JA4's verdict, the stack class, and `base`. */
function refresh(s: Shape, hello: HelloInfo, lists: FingerprintLists): void {
  s.listsVersion = lists.version;
  s.ja4Hit = lists.lookup(s.ja4);
  s.ja3 = '';
  s.stack = stackClass(hello.parsed, s.ja4Hit?.verdict === 'good' ? s.ja4Hit.good : undefined);
  const v = s.base;
  v[COLUMNS.maxVersion] = s.maxVersion;
  v[COLUMNS.versions] = Math.log1p(s.versions);
  v[COLUMNS.ciphers] = Math.log1p(s.ciphers);
  v[COLUMNS.extensions] = Math.log1p(s.extensions);
  v[COLUMNS.groups] = Math.log1p(s.groups);
  v[COLUMNS.sigalgs] = Math.log1p(s.sigalgs);
  v[COLUMNS.grease] = b(s.grease);
  v[COLUMNS.weakCiphers] = Math.log1p(s.weakCiphers);
  v[COLUMNS.alpn] = b(s.alpn);
  v[COLUMNS.h2] = b(s.h2);
  v[COLUMNS.sni] = b(s.sni);
  v[COLUMNS.sessionTicket] = b(s.sessionTicketExt);
  v[COLUMNS.pskResume] = b(s.pskExt);
  v[COLUMNS.keyShares] = Math.log1p(s.keyShares);
  v[COLUMNS.browserStack] = b(s.stack === 'browser');
}

export class ShapeCache {
  // A spray of new shapes costs misses, never memory.
  private readonly map = new Generations<number, Shape>(MAX_SHAPES);

  get size(): number {
    return this.map.size;
  }

  /** The shape of this hello, made on first sight, its list-dependent parts up to date. */
  get(hello: HelloInfo, lists: FingerprintLists): Shape {
    const key = hello.shape;
    let s = key === 0 ? undefined : this.map.get(key);
    if (s === undefined) {
      s = makeShape(hello);
      if (key !== 0) this.map.set(key, s);
    }
    if (s.listsVersion !== lists.version) refresh(s, hello, lists);
    return s;
  }
}

/** Whether this hello tries to resume: 0 no, 1 a TLS ≤ 1.2 session id, 2 a session ticket, 3 a TLS 1.3 PSK. */
export function resumption(hello: HelloInfo, s: Shape): 0 | 1 | 2 | 3 {
  if (s.pskExt) return 3;
  if (s.sessionTicketExt && hello.parsed.extensionLength(EXT.sessionTicket) > 0) return 2;
  // A TLS 1.3 client sends a random session id in compatibility mode: only an older hello's is a resumption.
  if (s.maxVersion <= 3 && hello.parsed.sessionId.length > 0) return 1;
  return 0;
}
