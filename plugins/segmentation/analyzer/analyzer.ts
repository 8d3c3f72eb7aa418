// The traffic analyzer: every closed flow goes through its source's window, the rule triggers
// (scan, handshake-failure burst), the segment's baseline forest and, once trained, the
// supervised model. What fires becomes one AnomalyEvent per source — with a risk and a
// suggested expiry — that the segmentation engine turns into an isolate rule. A source is not
// reported again while its last report stands, unless its risk goes up.
import { LRUCache } from 'lru-cache';
import { SegmentBaseline } from './baseline.ts';
import { FLOW_FEATURES, flowFeatures } from './features.ts';
import type { FlowRecord } from './flow.ts';
import { replayFeatures } from './labelled-flows.ts';
import type { AnalyzerOptions } from './options.ts';
import { BoostedStumps } from './supervised.ts';
import { baselineFindings, supervisedFindings, windowFindings, type Finding, type Risk } from './triggers.ts';
import { SourceWindows, type SourceWindowStats } from './windows.ts';

export type { Risk } from './triggers.ts';

export interface AnomalyEvent {
  source: string;
  segment: string;
  /** 0..1, the strongest finding's. */
  score: number;
  risk: Risk;
  reasons: string[];
  /** The strongest finding's detector. */
  detector: Finding['detector'];
  /** Suggested lifetime of the isolate rule. */
  expiresInMs: number;
  /** The flow's endedAt. */
  at: number;
}

export interface LabelledFlow {
  flow: FlowRecord;
  malicious: boolean;
}

type Log = { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };

const RANK: Record<Risk, number> = { low: 0, medium: 1, high: 2 };
const CONTINUOUS = FLOW_FEATURES.map((name) => name.startsWith('log_'));

export class TrafficAnalyzer {
  private readonly opts: AnalyzerOptions;
  private readonly log: Log | undefined;
  private readonly windows: SourceWindows;
  private readonly baselines = new Map<string, SegmentBaseline>();
  private readonly reported: LRUCache<string, { risk: Risk; until: number }>;
  private readonly listeners = new Set<(e: AnomalyEvent) => void>();
  private supervised: BoostedStumps | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: AnalyzerOptions, log?: Log) {
    this.opts = options;
    this.log = log;
    this.windows = new SourceWindows(options);
    this.reported = new LRUCache({ max: options.maxSources });
  }

  /** Retrains the baselines every baseline.retrainIntervalMs until stop(). */
  start(): void {
    if (this.timer || !this.opts.baseline.enabled) return;
    this.timer = setInterval(() => void this.retrainNow(), this.opts.baseline.retrainIntervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  onAnomaly(fn: (e: AnomalyEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  windowOf(source: string, now?: number): SourceWindowStats | undefined {
    return this.windows.get(source, now);
  }

  /** Per segment: flows in the training window, whether a forest is trained, its threshold. */
  baselineStatus(): Array<{ segment: string; samples: number; ready: boolean; threshold: number; trainedOn: number }> {
    return [...this.baselines].map(([segment, b]) => ({ segment, samples: b.samples, ready: b.ready, threshold: b.threshold, trainedOn: b.trainedOn }));
  }

  /** Takes one closed flow; returns (and emits) the anomaly it completes, if any. */
  record(flow: FlowRecord): AnomalyEvent | undefined {
    const segment = flow.segment ?? 'default';
    const window = this.windows.record(flow);
    const row = flowFeatures(flow, window);
    const findings = windowFindings(window, this.opts);
    const baseline = this.baselineOf(segment);
    const seen = this.opts.baseline.enabled ? baseline.assess(row) : undefined;
    if (seen) findings.push(...baselineFindings(seen, segment));
    if (this.supervised) findings.push(...supervisedFindings(this.supervised.predict(row), this.opts.supervised.threshold));
    if (findings.length === 0) {
      if (this.opts.baseline.enabled) baseline.add(flow.source, row);
      return undefined;
    }
    return this.report(flow, segment, findings);
  }

  /**
   * Trains the supervised model on labelled flows, replayed in time order through fresh windows.
   * Synchronous (seconds for 100 000 flows): call it from the admin API or at start, not a hook.
   */
  trainSupervised(labelled: readonly LabelledFlow[]): void {
    const rows = [...labelled].sort((a, b) => a.flow.endedAt - b.flow.endedAt).slice(-this.opts.supervised.maxTrainingRows);
    this.supervised = BoostedStumps.train(replayFeatures(rows, this.opts), rows.map((r) => r.malicious));
    this.log?.info({ rows: rows.length, malicious: rows.filter((r) => r.malicious).length, stumps: this.supervised.stumps.length }, 'supervised flow model trained');
  }

  /** Retrains every segment's baseline that has enough flows (in the background). */
  async retrainNow(): Promise<void> {
    await Promise.all(
      [...this.baselines].map(async ([segment, b]) => {
        try {
          await b.retrain();
        } catch (err) {
          this.log?.warn({ segment, err }, 'baseline retraining failed; the previous one stays');
        }
      }),
    );
  }

  private baselineOf(segment: string): SegmentBaseline {
    let b = this.baselines.get(segment);
    if (!b) this.baselines.set(segment, (b = new SegmentBaseline(this.opts.baseline, CONTINUOUS)));
    return b;
  }

  private report(flow: FlowRecord, segment: string, findings: Finding[]): AnomalyEvent | undefined {
    findings.sort((a, b) => RANK[b.risk] - RANK[a.risk] || b.score - a.score);
    const top = findings[0]!;
    const last = this.reported.get(flow.source);
    if (last && last.until > flow.endedAt && RANK[top.risk] <= RANK[last.risk]) return undefined;
    const expiresInMs = top.risk === 'high' ? this.opts.expiry.highMs : top.risk === 'medium' ? this.opts.expiry.mediumMs : this.opts.expiry.lowMs;
    const event: AnomalyEvent = {
      source: flow.source, segment, score: top.score, risk: top.risk, reasons: findings.map((f) => f.reason),
      detector: top.detector, expiresInMs, at: flow.endedAt,
    };
    this.reported.set(flow.source, { risk: top.risk, until: flow.endedAt + expiresInMs });
    for (const fn of this.listeners) {
      try {
        fn(event);
      } catch (err) {
        this.log?.warn({ err }, 'anomaly listener threw');
      }
    }
    return event;
  }
}
