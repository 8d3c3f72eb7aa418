// Caps retries at a share of the traffic, as Linkerd's and Envoy's budgets do, so that when every
// server is failing the retries cannot multiply the load on them (a retry storm): over the last
// 10 s, retries ≤ max(budgetPercent% of requests, minRetriesPerSecond × 10). The floor lets a
// quiet pool still retry its occasional failure.

const WINDOW_S = 10;

export class RetryBudget {
  private readonly percent: number;
  private readonly floor: number;
  private readonly now: () => number;
  /** Per-second buckets, a ring indexed by second % WINDOW_S; `stamps` says which second each holds. */
  private readonly stamps = new Array<number>(WINDOW_S).fill(-1);
  private readonly requests = new Array<number>(WINDOW_S).fill(0);
  private readonly retries = new Array<number>(WINDOW_S).fill(0);

  constructor(percent: number, minPerSecond: number, now: () => number = Date.now) {
    this.percent = percent;
    this.floor = minPerSecond * WINDOW_S;
    this.now = now;
  }

  /** A request's first attempt: it earns retry allowance. */
  request(): void {
    this.requests[this.slot()]!++;
  }

  /** Spends one retry; false when the budget is used up. */
  tryRetry(): boolean {
    const slot = this.slot();
    const { requests, retries } = this.totals();
    if (retries + 1 > Math.max((requests * this.percent) / 100, this.floor)) return false;
    this.retries[slot]!++;
    return true;
  }

  /** Requests and retries over the window, for the admin API. */
  totals(): { requests: number; retries: number } {
    const second = Math.floor(this.now() / 1000);
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < WINDOW_S; i++) {
      if (this.stamps[i]! <= second - WINDOW_S) continue;
      requests += this.requests[i]!;
      retries += this.retries[i]!;
    }
    return { requests, retries };
  }

  /** The bucket of the current second, emptied first if it still holds an older second. */
  private slot(): number {
    const second = Math.floor(this.now() / 1000);
    const i = second % WINDOW_S;
    if (this.stamps[i] !== second) {
      this.stamps[i] = second;
      this.requests[i] = 0;
      this.retries[i] = 0;
    }
    return i;
  }
}
