// A target is one server the bench measures: how to tell whether it can run here, and how to
// start it pinned to the target core, listening on a given port.
import type { CertFiles, Tools } from '../setup.ts';
import type { Pinned } from '../lib/proc.ts';

export interface BenchContext {
  /** Repository root. */
  readonly repo: string;
  /** Scratch directory of this run: configs, certificate, logs. */
  readonly work: string;
  readonly cert: CertFiles;
  readonly originPort: number;
  readonly peersDir: string;
  /** false when the npm install of the peers failed. */
  readonly peersOk: boolean;
  readonly tools: Tools;
  /** The Node that runs Weaver and the Node peers (the project's pinned Node 24). */
  readonly node: string;
}

export type TargetKind = 'weaver' | 'node-peer' | 'native-peer' | 'baseline';

export interface Target {
  readonly id: string;
  /** What the table calls it. */
  readonly label: string;
  readonly kind: TargetKind;
  /** Speaks HTTP/2 to clients (ALPN h2). */
  readonly h2: boolean;
  /** Most idle connections it can hold here, when fewer than the memory test wants. */
  readonly maxIdleConnections?: number;
  /** Why it cannot run here, or undefined when it can. */
  unavailable(ctx: BenchContext): string | undefined;
  start(ctx: BenchContext, port: number): Pinned;
}
