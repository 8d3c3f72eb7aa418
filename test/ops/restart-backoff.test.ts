// When a dead worker is started again: at once after a stable run, doubling while it keeps dying
// young, never past the cap, and back to the base once a worker has lived long enough.
import t from 'tap';
import { DEFAULT_BACKOFF, RestartBackoff } from '../../proxy/cluster/backoff.ts';

t.test('a crash loop backs off; a stable run resets it', async (t) => {
  const b = new RestartBackoff({ baseMs: 100, maxMs: 1_000, stableMs: 10_000 });
  t.equal(b.next(60_000), 100, 'a worker that ran a long time is replaced after the base delay');
  t.same([b.next(50), b.next(50), b.next(50), b.next(50), b.next(50)], [200, 400, 800, 1_000, 1_000], 'dying young doubles the wait, up to the cap');
  t.equal(b.next(10_000), 100, 'a stable run resets the doubling');
  t.equal(b.next(10), 200);
});

t.test('defaults: replaced quickly, crash loops capped at 30 s', async (t) => {
  const b = new RestartBackoff();
  t.equal(b.next(DEFAULT_BACKOFF.stableMs), DEFAULT_BACKOFF.baseMs);
  let last = 0;
  for (let i = 0; i < 20; i++) last = b.next(0);
  t.equal(last, DEFAULT_BACKOFF.maxMs);
  t.equal(DEFAULT_BACKOFF.maxMs, 30_000);
});
