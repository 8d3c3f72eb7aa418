// An isolation forest built from ml-isolation-forest 0.1.0, wrapped for how it behaves
// (see its src/): it grows every tree on the whole training set to depth ceil(log2 n), keeps
// the training rows in the leaves, and draws its splits from Math.random. So:
//   - each tree here is one single-tree IsolationForest grown on its own subsample of
//     `sampleSize` rows (Liu et al.'s ψ, 256), so a tree costs O(ψ log ψ) and holds ψ rows;
//   - the subsamples come from a seeded generator, and Math.random is swapped for a seeded one
//     for the duration of each synchronous tree build (nothing else runs meanwhile, and it is
//     restored in `finally`), so a forest is reproducible from its seed;
//   - trees are grown one per event-loop turn (`trainInBackground`), never in a hook;
//   - each grown tree is compiled into flat typed arrays (split column, split value, children,
//     leaf adjustment) and the package's objects are dropped, then all trees are packed into
//     one set of arrays: scoring a handshake walks them instead of making 100 predict() calls
//     that each allocate, and the leaves no longer pin training rows in memory;
//   - a leaf adds the package's c(leaf size) to the depth, as its pathLengthFromRoot does (its
//     c(n) is 2·ln(n−1)+0.577…, not the paper's 2·(ln(n−1)+0.577…)); the mean path length
//     over the trees is normalised with the paper's c(ψ).
import { IsolationForest, type TreeNode } from 'ml-isolation-forest';
import { sampleIndices, seededRandom, type Random } from 'weaver';

function toArray(row: ArrayLike<number>): number[] {
  const out = new Array<number>(row.length);
  for (let k = 0; k < row.length; k++) out[k] = row[k]!;
  return out;
}

/** The package's c(n), to undo its normalisation. */
function packageC(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * Math.log(n - 1) + 0.57721 - (2 * (n - 1)) / n;
}

/** c(n) of Liu, Ting and Zhou (2008): the mean path length of an unsuccessful BST search. */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  const harmonic = Math.log(n - 1) + 0.5772156649;
  return 2 * harmonic - (2 * (n - 1)) / n;
}

export interface ForestOptions {
  trees: number;
  sampleSize: number;
  seed: number;
}

/** One isolation tree as arrays; node 0 is the root, a leaf has column −1. */
export class FlatTree {
  readonly column: Int16Array;
  readonly split: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** For a leaf: the package's c(rows in the leaf), added to the depth reached. */
  readonly leafAdd: Float64Array;

  constructor(root: TreeNode) {
    const nodes: TreeNode[] = [];
    const index = new Map<TreeNode, number>();
    const stack = [root];
    while (stack.length > 0) {
      const n = stack.pop()!;
      index.set(n, nodes.length);
      nodes.push(n);
      if (n.left && n.right) stack.push(n.right, n.left);
    }
    const size = nodes.length;
    this.column = new Int16Array(size);
    this.split = new Float64Array(size);
    this.left = new Int32Array(size);
    this.right = new Int32Array(size);
    this.leafAdd = new Float64Array(size);
    nodes.forEach((n, i) => {
      if (n.left && n.right) {
        this.column[i] = n.splitColumn!;
        this.split[i] = n.splitValue!;
        this.left[i] = index.get(n.left)!;
        this.right[i] = index.get(n.right)!;
      } else {
        this.column[i] = -1;
        this.leafAdd[i] = packageC(n.trainingSet?.length ?? 0);
      }
    });
  }

  /** The same number as the package's pathLengthFromRoot(row, 0). */
  pathLength(row: ArrayLike<number>): number {
    let i = 0;
    let depth = 0;
    for (;;) {
      const col = this.column[i]!;
      if (col < 0) return depth + this.leafAdd[i]!;
      i = row[col]! < this.split[i]! ? this.left[i]! : this.right[i]!;
      depth++;
    }
  }
}

export class Forest {
  /** The trees as grown (the packed arrays below are made from them). */
  readonly trees: FlatTree[] = [];
  /** Time spent growing the trees (synchronous work, so about the CPU it took), ms. */
  trainingMs = 0;
  private sampleSize = 0;
  // All trees in one set of arrays, made on the first score (see pack): a handshake's walk
  // through 100 trees then touches three arrays instead of five per tree.
  private column: Int16Array | undefined;
  /** A node's split value, or for a leaf the depth it adds. */
  private value: Float64Array = new Float64Array(0);
  /** Index of a node's left child; the right child is the next node. */
  private child: Int32Array = new Int32Array(0);
  private roots: Int32Array = new Int32Array(0);

  get size(): number {
    return this.trees.length;
  }

  /** Grows one tree on a seeded subsample of `rows`. Synchronous; bounded by sampleSize. */
  growTree(rows: ReadonlyArray<ArrayLike<number>>, sampleSize: number, random: Random): void {
    const n = Math.min(sampleSize, rows.length);
    if (n < 2) throw new RangeError('an isolation tree needs at least two rows');
    // The package wants plain arrays; Array.from on a typed array goes through the iterator
    // protocol and was a third of a training's time.
    const sample = sampleIndices(rows.length, n, random).map((i) => toArray(rows[i]!));
    const grown = new IsolationForest({ nEstimators: 1 });
    const saved = Math.random;
    Math.random = random;
    try {
      grown.train(sample);
    } finally {
      Math.random = saved;
    }
    this.trees.push(new FlatTree(grown.forest[0]!));
    this.sampleSize = n;
    this.column = undefined;
  }

  private pack(): Int16Array {
    let total = 0;
    for (const t of this.trees) total += t.column.length;
    const column = new Int16Array(total);
    this.value = new Float64Array(total);
    this.child = new Int32Array(total);
    this.roots = new Int32Array(this.trees.length);
    let next = 0;
    this.trees.forEach((t, k) => {
      // Breadth-first, so the two children of a node are neighbours.
      this.roots[k] = next++;
      const queue: Array<[number, number]> = [[0, this.roots[k]!]];
      for (let q = 0; q < queue.length; q++) {
        const [from, to] = queue[q]!;
        const col = t.column[from]!;
        column[to] = col;
        if (col < 0) {
          this.value[to] = t.leafAdd[from]!;
          continue;
        }
        this.value[to] = t.split[from]!;
        this.child[to] = next;
        queue.push([t.left[from]!, next++], [t.right[from]!, next++]);
      }
    });
    return (this.column = column);
  }

  /** Anomaly score in (0, 1): about 0.5 and below is ordinary, towards 1 is isolated early. */
  score(row: ArrayLike<number>): number {
    const n = this.trees.length;
    if (n === 0) return 0;
    const column = this.column ?? this.pack();
    const value = this.value;
    const child = this.child;
    let total = 0;
    for (let k = 0; k < n; k++) {
      let i = this.roots[k]!;
      let depth = 0;
      for (;;) {
        const col = column[i]!;
        if (col < 0) break;
        i = child[i]! + (row[col]! < value[i]! ? 0 : 1);
        depth++;
      }
      total += depth + value[i]!;
    }
    return 2 ** (-(total / n) / averagePathLength(this.sampleSize));
  }
}

/**
 * Grows a forest one tree per event-loop turn and resolves with it; the caller keeps scoring
 * with the previous forest meanwhile.
 */
export function trainInBackground(rows: ReadonlyArray<ArrayLike<number>>, opts: ForestOptions): Promise<Forest> {
  const forest = new Forest();
  const random = seededRandom(opts.seed);
  return new Promise((resolve, reject) => {
    const step = (): void => {
      try {
        const started = performance.now();
        forest.growTree(rows, opts.sampleSize, random);
        forest.trainingMs += performance.now() - started;
        if (forest.size < opts.trees) setImmediate(step);
        else resolve(forest);
      } catch (err) {
        reject(err as Error);
      }
    };
    setImmediate(step);
  });
}
