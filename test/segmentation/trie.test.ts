// Addresses and the prefix trie against independent checks: the address parser accepts what
// node:net does and reads IPv6 as the WHATWG URL parser does; random IPv4 and IPv6 prefixes of
// every length (the /16 table's wide entries, its low tries, single addresses), inserted and
// removed in random order, give for each address exactly the prefixes that contain it.
import { isIP } from 'node:net';
import t from 'tap';
import { covers, formatAddress, parseAddress, parseIp, parsePrefix, type Prefix } from '../../plugins/segmentation/address.ts';
import { PrefixTrie } from '../../plugins/segmentation/trie.ts';

let seed = 7;
const rand = (n: number): number => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed % n;
};
// Few distinct leading bytes, so prefixes nest and share nodes.
const v4 = (): string => `${10 + rand(2)}.${rand(3)}.${rand(4)}.${rand(256)}`;
const v6 = (): string => `2001:db8:${rand(3).toString(16)}::${rand(65_536).toString(16)}`;
const prefix = (six: boolean): Prefix => parsePrefix(six ? `${v6()}/${rand(129)}` : `${v4()}/${rand(33)}`)!;

t.test('addresses parse as node:net and the URL parser read them', async (t) => {
  const fixed = ['::', '::1', '1::', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1:2:3:4:5:6:7::8', '1::2::3', ':::', '1:::2', '12345::', '1:2:3:4:5:6:7:8:9', ':1', '1:', 'g::1', '2001:DB8::Ab', 'fe80::1%eth0', '::ffff:1.2.3.4', '64:ff9b::1.2.3.4', '1.2.3.04', '256.1.1.1', '1.2.3', ''];
  const random = Array.from({ length: 3000 }, () => {
    const groups = Array.from({ length: rand(10) }, () => (rand(6) === 0 ? '' : rand(1 << (4 * (1 + rand(5)))).toString(16)));
    if (rand(2)) groups.splice(rand(groups.length + 1), 0, '');
    return groups.join(':');
  });
  let wrong = 0;
  for (const text of [...fixed, ...random]) {
    const bytes = parseAddress(text);
    if (!!bytes !== (isIP(text) !== 0)) wrong++;
    else if (bytes?.length === 16 && !text.includes('%') && formatAddress(bytes) !== new URL(`http://[${text}]`).hostname.slice(1, -1)) wrong++;
  }
  t.equal(wrong, 0, `${fixed.length + random.length} texts read as node:net and the URL parser do`);
  t.equal(parseIp('::ffff:10.1.2.3'), parseIp('10.1.2.3'), 'an IPv4-mapped address is its IPv4 address');
  t.equal(parseIp('255.255.255.255'), -1, 'IPv4 as a signed 32-bit number');
});

t.test('lookups match a brute-force check through inserts and removals', async (t) => {
  const trie = new PrefixTrie<number>();
  const held: Array<{ p: Prefix; id: number }> = [];
  let id = 0;
  let checked = 0;
  let mismatches = 0;
  for (let round = 0; round < 40; round++) {
    for (let i = 0; i < 60; i++) {
      const p = prefix(rand(4) === 0);
      trie.insert(p, ++id);
      held.push({ p, id });
    }
    for (let i = 0; i < 25 && held.length; i++) {
      const [gone] = held.splice(rand(held.length), 1);
      if (!trie.remove(gone!.p, gone!.id)) mismatches++;
    }
    t.equal(trie.size, held.length, `round ${round}: size`);
    for (let i = 0; i < 200; i++) {
      const text = rand(4) === 0 ? v6() : rand(8) === 0 ? `::ffff:${v4()}` : v4();
      const host = parsePrefix(text)!;
      const out: number[] = [];
      trie.lookup(parseIp(text)!, out);
      const want = held.filter((h) => covers(h.p, host)).map((h) => h.id);
      if (out.sort((a, b) => a - b).join() !== want.sort((a, b) => a - b).join()) mismatches++;
      checked++;
    }
  }
  t.equal(mismatches, 0, `${checked} lookups and every removal as expected`);
  t.notOk(trie.remove(parsePrefix('10.0.0.0/8')!, -1), 'removing a value that is not there says so');
  for (const h of held) trie.remove(h.p, h.id);
  t.equal(trie.size, 0);
  const out: number[] = [];
  trie.lookup(parseIp('10.1.2.3')!, out);
  t.same(out, [], 'an emptied trie finds nothing');
});
