// Address prefixes → values, answering "every prefix that contains this address".
//
// IPv4 (an address is a 32-bit number here): a 65 536-entry table indexed by the top 16 bits.
// A prefix of 16 bits or less is listed in every entry it covers (a /8 in 256 of them), a longer
// one in its entry's small trie of the two low bytes, and a single address in a hash map keyed
// by its number: a lookup is one map probe, one array index and at most two node steps.
// IPv6: a multibit trie of stride 8 (one level per byte, at most 16 steps), single addresses in
// a hash map keyed by the 16 bytes as text.
// In a node, a prefix whose length is not a multiple of 8 keeps the bits it fixes of the next
// byte beside it ("slots"). Lookups append to the caller's list; an IPv4 one allocates nothing.
import { v4Number, type Address, type Prefix } from './address.ts';

interface Slot<V> {
  /** Bits of the next byte this prefix fixes (0–7), and their value. */
  rest: number;
  bits: number;
  values: V[];
}

interface Node<V> {
  // A 256-slot array (undefined where no child) rather than a Map: one memory access less per
  // level, which is what a lookup in a large trie is bound by.
  kids: Array<Node<V> | undefined> | undefined;
  nkids: number;
  slots: Slot<V>[] | undefined;
}

interface Entry16<V> {
  /** Values of the prefixes of ≤ 16 bits that cover this entry. */
  wide: V[];
  /** Prefixes of 17–31 bits, by their two low bytes. */
  low: Node<V> | undefined;
}

/** Where a lookup puts what it finds: an array, or the engine's reusable Scratch. */
interface Out<V> {
  push(v: V): unknown;
}

const node = <V>(): Node<V> => ({ kids: undefined, nkids: 0, slots: undefined });

/** The 16 bytes as 8 UTF-16 code units. */
const v6Key = (b: Uint8Array): string =>
  String.fromCharCode((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!, (b[4]! << 8) | b[5]!, (b[6]! << 8) | b[7]!, (b[8]! << 8) | b[9]!, (b[10]! << 8) | b[11]!, (b[12]! << 8) | b[13]!, (b[14]! << 8) | b[15]!);

export class PrefixTrie<V> {
  private readonly v4 = new Array<Entry16<V> | undefined>(65_536).fill(undefined);
  private readonly v4hosts = new Map<number, V[]>();
  private readonly v6: Node<V> = node();
  private readonly v6hosts = new Map<string, V[]>();
  size = 0;

  insert(p: Prefix, value: V): void {
    this.size++;
    const b = p.bytes;
    if (b.length === 16) {
      if (p.len === 128) push(this.v6hosts, v6Key(b), value);
      else insertNode(this.v6, b, 0, p.len, value);
      return;
    }
    if (p.len === 32) return push(this.v4hosts, v4Number(b), value);
    const top = (b[0]! << 8) | b[1]!;
    if (p.len <= 16) {
      for (let i = top, end = top + (1 << (16 - p.len)); i < end; i++) (this.v4[i] ??= { wide: [], low: undefined }).wide.push(value);
      return;
    }
    const e = (this.v4[top] ??= { wide: [], low: undefined });
    insertNode((e.low ??= node()), b, 2, p.len - 16, value);
  }

  /** Removes one value stored under exactly this prefix; false when it was not there. */
  remove(p: Prefix, value: V): boolean {
    const b = p.bytes;
    let found: boolean;
    if (b.length === 16) found = p.len === 128 ? pull(this.v6hosts, v6Key(b), value) : removeNode(this.v6, b, 0, p.len, value);
    else if (p.len === 32) found = pull(this.v4hosts, v4Number(b), value);
    else {
      const top = (b[0]! << 8) | b[1]!;
      found = false;
      if (p.len <= 16) {
        for (let i = top, end = top + (1 << (16 - p.len)); i < end; i++) {
          const e = this.v4[i];
          const at = e ? e.wide.indexOf(value) : -1;
          if (at < 0) continue;
          e!.wide.splice(at, 1);
          found = true;
          this.prune(i);
        }
      } else {
        const e = this.v4[top];
        if (e?.low && removeNode(e.low, b, 2, p.len - 16, value)) {
          found = true;
          if (!e.low.slots && !e.low.nkids) e.low = undefined;
          this.prune(top);
        }
      }
    }
    if (found) this.size--;
    return found;
  }

  /** Appends to `out` the values of every prefix that contains `addr`. */
  lookup(addr: Address, out: Out<V>): void {
    if (typeof addr === 'number') {
      const exact = this.v4hosts.get(addr);
      if (exact) append(out, exact);
      const e = this.v4[addr >>> 16];
      if (!e) return;
      append(out, e.wide);
      let n = e.low;
      if (!n) return;
      const b2 = (addr >>> 8) & 255;
      if (n.slots) collect(n.slots, b2, out);
      n = n.kids?.[b2];
      if (n?.slots) collect(n.slots, addr & 255, out);
      return;
    }
    const exact = this.v6hosts.get(v6Key(addr));
    if (exact) append(out, exact);
    let n: Node<V> | undefined = this.v6;
    for (let d = 0; n; d++) {
      const b = addr[d]!;
      if (n.slots) collect(n.slots, b, out);
      if (d >= 15 || !n.kids) break;
      n = n.kids[b];
    }
  }

  private prune(i: number): void {
    const e = this.v4[i]!;
    if (e.wide.length === 0 && !e.low) this.v4[i] = undefined;
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function pull<K, V>(map: Map<K, V[]>, key: K, value: V): boolean {
  const list = map.get(key);
  const at = list ? list.indexOf(value) : -1;
  if (at < 0) return false;
  list!.splice(at, 1);
  if (list!.length === 0) map.delete(key);
  return true;
}

function append<V>(out: Out<V>, values: readonly V[]): void {
  for (let j = 0; j < values.length; j++) out.push(values[j]!);
}

function collect<V>(slots: Slot<V>[], b: number, out: Out<V>): void {
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i]!;
    if (s.rest === 0 || b >> (8 - s.rest) === s.bits) append(out, s.values);
  }
}

/** Inserts a prefix of `len` bits starting at byte `from` of `bytes` into the trie under `root`. */
function insertNode<V>(root: Node<V>, bytes: Uint8Array, from: number, len: number, value: V): void {
  let n = root;
  const full = len >> 3;
  for (let d = 0; d < full; d++) {
    const b = bytes[from + d]!;
    n.kids ??= new Array<Node<V> | undefined>(256).fill(undefined);
    let next = n.kids[b];
    if (!next) {
      n.kids[b] = next = node();
      n.nkids++;
    }
    n = next;
  }
  const rest = len & 7;
  const bits = rest ? bytes[from + full]! >> (8 - rest) : 0;
  n.slots ??= [];
  let slot = n.slots.find((s) => s.rest === rest && s.bits === bits);
  if (!slot) n.slots.push((slot = { rest, bits, values: [] }));
  slot.values.push(value);
}

function removeNode<V>(root: Node<V>, bytes: Uint8Array, from: number, len: number, value: V): boolean {
  const path: Array<[Node<V>, number]> = [];
  let n: Node<V> | undefined = root;
  const full = len >> 3;
  for (let d = 0; d < full && n; d++) {
    const b = bytes[from + d]!;
    path.push([n, b]);
    n = n.kids?.[b];
  }
  if (!n?.slots) return false;
  const rest = len & 7;
  const bits = rest ? bytes[from + full]! >> (8 - rest) : 0;
  const si = n.slots.findIndex((s) => s.rest === rest && s.bits === bits);
  if (si < 0) return false;
  const values = n.slots[si]!.values;
  const vi = values.indexOf(value);
  if (vi < 0) return false;
  values.splice(vi, 1);
  if (values.length === 0) n.slots.splice(si, 1);
  if (n.slots.length === 0) n.slots = undefined;
  // Prune nodes left empty, so a trie that churns (feeds, analyzer rules) does not grow.
  for (let i = path.length - 1; i >= 0; i--) {
    const [parent, b] = path[i]!;
    const child = parent.kids![b]!;
    if (child.slots || child.nkids) break;
    parent.kids![b] = undefined;
    if (--parent.nkids === 0) parent.kids = undefined;
  }
  return true;
}
