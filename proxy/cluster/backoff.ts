// When to start a worker again after one died. A worker that ran a good while is replaced at
// once (base delay); one that keeps dying soon after start waits twice as long each time, up to
// a cap, so a crash loop costs little CPU and leaves readable logs.
export interface BackoffOptions {
  /** Delay after a death that follows a stable run. */
  baseMs: number;
  maxMs: number;
  /** A worker that lived this long resets the doubling. */
  stableMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 100, maxMs: 30_000, stableMs: 30_000 };

export class RestartBackoff {
  private readonly opts: BackoffOptions;
  private failures = 0;

  constructor(opts: BackoffOptions = DEFAULT_BACKOFF) {
    this.opts = opts;
  }

  /** A worker died after `livedMs`: how long to wait before starting its replacement. */
  next(livedMs: number): number {
    if (livedMs >= this.opts.stableMs) this.failures = 0;
    const delay = Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** this.failures);
    this.failures++;
    return delay;
  }
}
