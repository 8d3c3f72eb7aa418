// ml-isolation-forest 0.1.0 ships no types; this is the part of its surface forest.ts uses.
// `forest` and the node fields are not documented API: forest.ts reads them once per tree to
// compile it (see there), and test/bae/forest.test.ts checks the compiled tree against
// the package's own pathLengthFromRoot, so a change in a new version shows up as a failure.
declare module 'ml-isolation-forest' {
  export interface TreeNode {
    left?: TreeNode;
    right?: TreeNode;
    splitColumn?: number;
    splitValue?: number;
    /** Set on leaves only: the training rows that ended there. */
    trainingSet?: unknown[];
    pathLengthFromRoot(row: number[], depth: number): number;
  }
  export class IsolationForest {
    constructor(options?: { nEstimators?: number });
    forest: TreeNode[];
    train(trainingSet: number[][]): void;
    /** 2^(-E[h(x)] / c(n)) per row, with the package's own c(n). */
    predict(data: number[][]): number[];
  }
}
