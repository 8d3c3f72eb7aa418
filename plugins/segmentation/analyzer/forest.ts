// An isolation forest (Liu, Ting and Zhou, 2008) grown here rather than with the
// ml-isolation-forest package that plugins/bae wraps: that package draws a split column among
// all columns, and with the one-hot columns of a flow (most of them constant within a node)
// most of its splits cut nothing and waste the depth limit; it also draws from Math.random.
// Here a node splits on a column that varies among its rows, from a seeded generator, and each
// tree is flat typed arrays. Trees are grown one per event-loop turn by trainInBackground.
import { sampleIndices, seededRandom, type Random } from 'weaver';

export type Row = ArrayLike<number>;

export interface ForestOptions {
  trees: number;
  /** Rows per tree (ψ); 256 in the paper. */
  sampleSize: number;
  seed: number;
}

/** c(n): the mean path length of an unsuccessful search in a binary search tree of n keys. */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + 0.5772156649) - (2 * (n - 1)) / n;
}

class Tree {
  /** Split column per node; −1 marks a leaf. */
  private readonly column: Int32Array;
  private readonly split: Float64Array;
  private readonly right: Int32Array;
  /** Leaf: its depth plus c(rows that reached it). Left children follow their parent. */
  private readonly leafValue: Float64Array;

  constructor(rows: Row[], random: Random) {
    const limit = Math.ceil(Math.log2(Math.max(rows.length, 2)));
    const width = rows[0]!.length;
    const column: number[] = [];
    const split: number[] = [];
    const right: number[] = [];
    const leaf: number[] = [];
    const lo = new Float64Array(width);
    const hi = new Float64Array(width);
    const grow = (node: Row[], depth: number): void => {
      const id = column.length;
      column.push(-1);
      split.push(0);
      right.push(0);
      leaf.push(depth + averagePathLength(node.length));
      if (depth >= limit || node.length <= 1) return;
      lo.fill(Infinity);
      hi.fill(-Infinity);
      for (const r of node) {
        for (let c = 0; c < width; c++) {
          const v = r[c]!;
          if (v < lo[c]!) lo[c] = v;
          if (v > hi[c]!) hi[c] = v;
        }
      }
      const varying: number[] = [];
      for (let c = 0; c < width; c++) if (hi[c]! > lo[c]!) varying.push(c);
      if (varying.length === 0) return;
      const c = varying[Math.floor(random() * varying.length)]!;
      const at = lo[c]! + random() * (hi[c]! - lo[c]!);
      column[id] = c;
      split[id] = at;
      const [l, r] = [node.filter((x) => x[c]! < at), node.filter((x) => x[c]! >= at)];
      grow(l, depth + 1);
      right[id] = column.length;
      grow(r, depth + 1);
    };
    grow(rows, 0);
    this.column = Int32Array.from(column);
    this.split = Float64Array.from(split);
    this.right = Int32Array.from(right);
    this.leafValue = Float64Array.from(leaf);
  }

  pathLength(row: Row): number {
    let i = 0;
    for (;;) {
      const c = this.column[i]!;
      if (c < 0) return this.leafValue[i]!;
      i = row[c]! < this.split[i]! ? i + 1 : this.right[i]!;
    }
  }
}

export class IsolationForest {
  private readonly trees: Tree[] = [];
  private norm = 1;

  get size(): number {
    return this.trees.length;
  }

  /** Grows one tree on a seeded subsample of `rows` (synchronous, bounded by sampleSize). */
  growTree(rows: readonly Row[], sampleSize: number, random: Random): void {
    const n = Math.min(sampleSize, rows.length);
    if (n < 2) throw new RangeError('an isolation tree needs at least two rows');
    this.trees.push(new Tree(sampleIndices(rows.length, n, random).map((i) => rows[i]!), random));
    this.norm = averagePathLength(n);
  }

  /** Anomaly score in (0, 1): about 0.5 and below is ordinary, towards 1 is isolated early. */
  score(row: Row): number {
    if (this.trees.length === 0) return 0;
    let total = 0;
    for (const t of this.trees) total += t.pathLength(row);
    return 2 ** (-(total / this.trees.length) / this.norm);
  }

  static train(rows: readonly Row[], opts: ForestOptions): IsolationForest {
    const forest = new IsolationForest();
    const random = seededRandom(opts.seed);
    while (forest.size < opts.trees) forest.growTree(rows, opts.sampleSize, random);
    return forest;
  }
}

/** Grows a forest one tree per event-loop turn; the caller keeps scoring with its previous one. */
export function trainInBackground(rows: readonly Row[], opts: ForestOptions): Promise<IsolationForest> {
  const forest = new IsolationForest();
  const random = seededRandom(opts.seed);
  return new Promise((resolve, reject) => {
    const step = (): void => {
      try {
        forest.growTree(rows, opts.sampleSize, random);
        if (forest.size < opts.trees) setImmediate(step);
        else resolve(forest);
      } catch (err) {
        reject(err as Error);
      }
    };
    setImmediate(step);
  });
}
