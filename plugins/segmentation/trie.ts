// A multibit prefix trie (stride 8: one level per address byte, 4 for IPv4, 16 for IPv6).
// A prefix of length L lives at the node reached by its first floor(L/8) bytes, with the
// remaining L%8 bits kept beside it; a lookup walks the address's bytes and collects every
// prefix on the way, so it finds all the prefixes that contain the address
// in at most 5 (IPv4) or 17 (IPv6) steps, whatever the number of prefixes.
import { formatAddress, type Prefix } from './address.ts';

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

const node = <V>(): Node<V> => ({ kids: undefined, nkids: 0, slots: undefined });

export class PrefixTrie<V> {
  private readonly v4: Node<V> = node();
  private readonly v6: Node<V> = node();
  // Single addresses (/32, /128) — most entries in practice: feeds, per-host rules, isolated
  // sources — sit in one hash map keyed by their text instead: one probe rather than a walk
  // through nodes spread over memory.
  private readonly hosts = new Map<string, V[]>();
  size = 0;

  insert(p: Prefix, value: V): void {
    if (p.len === p.bytes.length * 8) {
      const key = formatAddress(p.bytes);
      const list = this.hosts.get(key);
      if (list) list.push(value);
      else this.hosts.set(key, [value]);
      this.size++;
      return;
    }
    let n = p.bytes.length === 4 ? this.v4 : this.v6;
    const full = p.len >> 3;
    for (let d = 0; d < full; d++) {
      const b = p.bytes[d]!;
      n.kids ??= new Array<Node<V> | undefined>(256).fill(undefined);
      let next = n.kids[b];
      if (!next) {
        n.kids[b] = next = node();
        n.nkids++;
      }
      n = next;
    }
    const rest = p.len & 7;
    const bits = rest ? p.bytes[full]! >> (8 - rest) : 0;
    n.slots ??= [];
    let slot = n.slots.find((s) => s.rest === rest && s.bits === bits);
    if (!slot) n.slots.push((slot = { rest, bits, values: [] }));
    slot.values.push(value);
    this.size++;
  }

  /** Removes one value stored under exactly this prefix; false when it was not there. */
  remove(p: Prefix, value: V): boolean {
    if (p.len === p.bytes.length * 8) {
      const key = formatAddress(p.bytes);
      const list = this.hosts.get(key);
      const at = list ? list.indexOf(value) : -1;
      if (at < 0) return false;
      list!.splice(at, 1);
      if (list!.length === 0) this.hosts.delete(key);
      this.size--;
      return true;
    }
    const path: Array<[Node<V>, number]> = [];
    let n: Node<V> | undefined = p.bytes.length === 4 ? this.v4 : this.v6;
    const full = p.len >> 3;
    for (let d = 0; d < full && n; d++) {
      path.push([n, p.bytes[d]!]);
      n = n.kids?.[p.bytes[d]!];
    }
    if (!n?.slots) return false;
    const rest = p.len & 7;
    const bits = rest ? p.bytes[full]! >> (8 - rest) : 0;
    const si = n.slots.findIndex((s) => s.rest === rest && s.bits === bits);
    if (si < 0) return false;
    const values = n.slots[si]!.values;
    const vi = values.indexOf(value);
    if (vi < 0) return false;
    values.splice(vi, 1);
    this.size--;
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

  /** Appends to `out` the values of every prefix that contains `addr` (`key`: its canonical text). */
  lookup(addr: Uint8Array, key: string, out: V[]): void {
    const exact = this.hosts.get(key);
    if (exact) for (let j = 0; j < exact.length; j++) out.push(exact[j]!);
    let n: Node<V> | undefined = addr.length === 4 ? this.v4 : this.v6;
    for (let d = 0; n; d++) {
      const slots = n.slots;
      const b = d < addr.length ? addr[d]! : 0;
      if (slots) {
        for (let i = 0; i < slots.length; i++) {
          const s = slots[i]!;
          if (s.rest === 0 || b >> (8 - s.rest) === s.bits) {
            const vs = s.values;
            for (let j = 0; j < vs.length; j++) out.push(vs[j]!);
          }
        }
      }
      if (d >= addr.length - 1 || !n.kids) break;
      n = n.kids[b];
    }
  }
}
