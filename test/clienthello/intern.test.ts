// Interned code-unit sequences (HelloInfo.shape and the memo keys): exact — equal sequences get
// one id, different ones never share one, however alike — and bounded: a full table starts
// over without ever giving an id out twice.
import t from 'tap';
import { Interner } from '../../proxy/clienthello/intern.ts';

const seq = (...units: number[]) => Uint16Array.from(units);

t.test('equal sequences share an id, different ones never do', async (t) => {
  const interner = new Interner(100_000);
  const scratch = new Uint16Array(64);
  const ids = new Map<string, number>();
  let x = 1;
  let unkeyed = 0;
  let changed = 0;
  for (let k = 0; k < 50_000; k++) {
    // Short sequences over few values: many near-twins (same prefix, one unit off, one longer).
    const n = 1 + (k % 6);
    for (let i = 0; i < n; i++) scratch[i] = (x = (x * 1103515245 + 12345) >>> 0) % 5;
    const key = Array.from(scratch.subarray(0, n)).join(',');
    const id = interner.id(scratch, n);
    if (id === 0) unkeyed++;
    const before = ids.get(key);
    if (before !== undefined && before !== id) changed++;
    ids.set(key, id);
  }
  t.equal(unkeyed, 0, 'every sequence interned');
  t.equal(changed, 0, 'a sequence seen again gets its id');
  t.equal(new Set(ids.values()).size, ids.size, `${ids.size} sequences, as many ids`);
  t.equal(interner.id(seq(), 0), interner.id(seq(), 0), 'the empty sequence too');
  t.not(interner.id(seq(1, 2), 2), interner.id(seq(1, 2, 0), 3), 'a trailing zero makes another sequence');
  t.equal(interner.id(seq(9, 9, 9, 5), 3), interner.id(seq(9, 9, 9), 3), 'only the first n units count');
});

t.test('a full table starts over, and ids keep counting up', async (t) => {
  const interner = new Interner(4);
  const first = [1, 2, 3, 4].map((u) => interner.id(seq(u), 1));
  t.same(first, [1, 2, 3, 4]);
  t.equal(interner.id(seq(2), 1), 2, 'still there while the table has room');
  const fifth = interner.id(seq(5), 1);
  t.equal(fifth, 5, 'the fifth sequence starts a new table');
  const again = interner.id(seq(1), 1);
  t.equal(again, 6, 'a sequence from before the reset gets a new id, never an old one');
  t.equal(interner.id(seq(5), 1), 5, 'what came after the reset keeps its id');
});
