// What plugins get in onClientHello. Fingerprints are computed on first read and kept, so a
// deployment whose plugins never look at JA3/JA4 never pays for the hashing; JA3, JA4 (with
// JA4_r) and the original-order JA4_o (with JA4_ro) are three separate computations, so a
// plugin reading only `ja4` pays for that one.
// The same TLS stack sends the same lists on every connection: only the random, the session
// id, key-share and PSK bytes, padding, GREASE values and (Chrome) the extension order change.
// So the fingerprints are memoised on the hello's `shape` (everything but those, interned as a
// number), and JA3 and JA4_o, which keep the extension order, on the shape and that order
// (interned the same way): a repeat costs a hash and two map lookups, and allocates nothing.
import type { HelloInfo } from '../plugin/types.ts';
import { greaseAsOne, isGrease } from './grease.ts';
import { orderId, type FamilyMember, type HelloTemplate } from './hello-template.ts';
import { Interner } from './intern.ts';
import { ja3 } from './ja3.ts';
import { ja4Original, ja4Sorted } from './ja4.ts';
import type { ClientHello, Fingerprints, HelloArrival } from './types.ts';

type Ja3 = Pick<Fingerprints, 'ja3' | 'ja3_string'>;
type Ja4 = Pick<Fingerprints, 'ja4' | 'ja4_r'>;
type Ja4o = Pick<Fingerprints, 'ja4_o' | 'ja4_ro'>;

/** Entries per memo and per intern table: a spray of new shapes costs misses, never memory. */
const MEMO_MAX = 4096;
/** Hellos whose shape takes more code units than this are not memoised (nor keyed): no real stack sends one. */
const SHAPE_MAX = 1024;

/** Values keyed on a shape id and an extension-order id (0 where the order does not matter). */
class Memo<V> {
  private readonly map = new Map<number, Map<number, V>>();
  private size = 0;

  get(shape: number, order: number, make: (h: ClientHello) => V, h: ClientHello): V {
    let byOrder = this.map.get(shape);
    let v = byOrder?.get(order);
    if (v === undefined) {
      // Clearing, not dropping the oldest: deleting from the front of a large Map one entry at
      // a time makes every next `keys().next()` walk the holes.
      if (this.size >= MEMO_MAX) {
        this.map.clear();
        this.size = 0;
        byOrder = undefined;
      }
      if (byOrder === undefined) this.map.set(shape, (byOrder = new Map()));
      byOrder.set(order, (v = make(h)));
      this.size++;
    }
    return v;
  }
}

const ja3Memo = new Memo<Ja3>();
const ja4Memo = new Memo<Ja4>();
const ja4oMemo = new Memo<Ja4o>();
const shapes = new Interner(MEMO_MAX);

let scratch = new Uint16Array(256);

/**
 * The hello's shape, interned (see Interner): its 16-bit code points, every list
 * length-prefixed (so the encoding is exact). GREASE values become 0x0a0a where they stand,
 * extensions are sorted. 0 when the hello is too large to key.
 */
export function helloShape(h: ClientHello): number {
  let alpnUnits = 0;
  for (let i = 0; i < h.alpn.length; i++) alpnUnits += 1 + h.alpn[i]!.length;
  const need =
    16 + h.ciphers.length + h.compressionMethods.length + h.extensionTypes.length + h.supportedVersions.length + h.supportedGroups.length +
    h.ecPointFormats.length + h.signatureAlgorithms.length + alpnUnits + h.keyShares.length + h.pskKeyExchangeModes.length;
  if (need > SHAPE_MAX) return 0;
  if (need > scratch.length) scratch = new Uint16Array(SHAPE_MAX);
  // Runs on every hello a plugin reads: indexed loops and no closure or typed-array view, so
  // nothing is allocated unless the shape is new.
  const s = scratch;
  let n = 0;
  s[n++] = h.transport === 'quic' ? 1 : 0;
  s[n++] = h.helloVersion;
  n = putList(s, n, h.ciphers);
  n = putList(s, n, h.compressionMethods);
  n = putSortedExtensions(s, n, h.extensionTypes);
  n = putList(s, n, h.supportedVersions);
  n = putList(s, n, h.supportedGroups);
  n = putList(s, n, h.ecPointFormats);
  n = putList(s, n, h.signatureAlgorithms);
  s[n++] = h.alpn.length;
  for (let k = 0; k < h.alpn.length; k++) {
    const a = h.alpn[k]!;
    s[n++] = a.length;
    for (let i = 0; i < a.length; i++) s[n++] = a.charCodeAt(i);
  }
  s[n++] = h.sni === undefined ? 0 : 1;
  s[n++] = h.keyShares.length;
  for (let i = 0; i < h.keyShares.length; i++) s[n++] = greaseAsOne(h.keyShares[i]!.group);
  n = putList(s, n, h.pskKeyExchangeModes);
  return shapes.id(s, n);
}

function putList(s: Uint16Array, n: number, values: readonly number[]): number {
  s[n++] = values.length;
  for (let i = 0; i < values.length; i++) s[n++] = greaseAsOne(values[i]!);
  return n;
}

/** The extension types, GREASE normalised, in ascending order (insertion sort for the usual ~15). */
function putSortedExtensions(s: Uint16Array, n: number, types: readonly number[]): number {
  s[n++] = types.length;
  const start = n;
  if (types.length > 64) {
    for (let i = 0; i < types.length; i++) s[n++] = greaseAsOne(types[i]!);
    s.subarray(start, n).sort();
    return n;
  }
  for (let i = 0; i < types.length; i++) {
    const v = greaseAsOne(types[i]!);
    let j = n++;
    for (; j > start && s[j - 1]! > v; j--) s[j] = s[j - 1]!;
    s[j] = v;
  }
  return n;
}

/**
 * The non-GREASE extension types in wire order, interned (0: not keyed): the parser's id for a
 * hello it walked (no list decoded), else made from the list. Only called once the shape is
 * keyed, so they fit the scratch.
 */
function extensionOrder(h: ClientHello): number {
  const walked = (h as Partial<FamilyMember>).orderId;
  if (walked !== undefined && walked !== 0) return walked;
  const types = h.extensionTypes;
  let n = 0;
  for (let i = 0; i < types.length; i++) if (!isGrease(types[i]!)) scratch[n++] = types[i]!;
  return orderId(scratch, n);
}

export class LazyHelloInfo implements HelloInfo {
  readonly parsed: ClientHello;
  readonly arrival: HelloArrival;
  private shapeId = -1;
  private orderId = -1;
  private ja3s: Ja3 | undefined;
  private ja4s: Ja4 | undefined;
  private ja4os: Ja4o | undefined;

  constructor(parsed: ClientHello, arrival: HelloArrival) {
    this.parsed = parsed;
    this.arrival = arrival;
  }

  get sni(): string | undefined {
    return this.parsed.sni;
  }
  get alpn(): readonly string[] {
    return this.parsed.alpn;
  }
  /** The family's template, for a hello from the parser that has one (hello-template.ts). */
  private get family(): FamilyMember | undefined {
    const member = this.parsed as Partial<FamilyMember>;
    return member.template === undefined ? undefined : (member as FamilyMember);
  }
  /** The template when this hello is in the extension order its family's JA3 and JA4_o are for (the first asked sets it). */
  private get inOrder(): HelloTemplate | undefined {
    const f = this.family;
    const id = f?.orderId ?? 0;
    if (id === 0) return undefined;
    const t = f!.template!;
    if (t.order === 0) t.order = id;
    return id === t.order ? t : undefined;
  }
  get shape(): number {
    if (this.shapeId < 0) {
      const t = this.family?.template;
      this.shapeId = t !== undefined && t.shape >= 0 ? t.shape : helloShape(this.parsed);
      if (t) t.shape = this.shapeId;
    }
    return this.shapeId;
  }
  // A family shares its JA4; JA3 and JA4_o, which keep the extension order, only among the
  // hellos in one order (all of them, for every stack but Chrome's).
  private get j3(): Ja3 {
    return (this.ja3s ??= this.fingerprint(this.inOrder, 'ja3', ja3Memo, true, ja3));
  }
  private get j4(): Ja4 {
    return (this.ja4s ??= this.fingerprint(this.family?.template, 'ja4', ja4Memo, false, ja4Sorted));
  }
  private get j4o(): Ja4o {
    return (this.ja4os ??= this.fingerprint(this.inOrder, 'ja4o', ja4oMemo, true, ja4Original));
  }
  /** From the template `t` when there is one (worked out once per family), else from the memo. */
  private fingerprint<V extends object>(t: HelloTemplate | undefined, field: 'ja3' | 'ja4' | 'ja4o', memo: Memo<V>, ordered: boolean, make: (h: ClientHello) => V): V {
    const v = (t?.[field] as V | undefined) ?? this.memoised(memo, ordered, make);
    if (t) t[field] = v;
    return v;
  }
  /** `make(parsed)` from the memo, keyed on the shape (plus the extension order when `ordered`). */
  private memoised<V>(memo: Memo<V>, ordered: boolean, make: (h: ClientHello) => V): V {
    const shape = this.shape;
    if (shape === 0) return make(this.parsed);
    if (!ordered) return memo.get(shape, 0, make, this.parsed);
    if (this.orderId < 0) this.orderId = extensionOrder(this.parsed);
    return this.orderId === 0 ? make(this.parsed) : memo.get(shape, this.orderId, make, this.parsed);
  }
  get ja3(): string {
    return this.j3.ja3;
  }
  get ja3_string(): string {
    return this.j3.ja3_string;
  }
  get ja4(): string {
    return this.j4.ja4;
  }
  get ja4_r(): string {
    return this.j4.ja4_r;
  }
  get ja4_o(): string {
    return this.j4o.ja4_o;
  }
  get ja4_ro(): string {
    return this.j4o.ja4_ro;
  }
  toJSON(): object {
    return { sni: this.sni, alpn: this.alpn, ...this.j3, ...this.j4, ...this.j4o, arrival: this.arrival };
  }
}
