// The pieces under the session, on their own: sequence tracking and ack ranges, reassembly of
// frames arriving out of order, the frame reader over arbitrary chunking, and the scheduler's
// choice in each mode, and the resend timeout of a path.
import t from 'tap';
import * as F from '../../plugins/bonding-upstream/frames.ts';
import { Path } from '../../plugins/bonding-upstream/path.ts';
import { Reassembly } from '../../plugins/bonding-upstream/reassembly.ts';
import { Scheduler, earliest, weightedTurn } from '../../plugins/bonding-upstream/scheduler.ts';
import { SeqTracker } from '../../plugins/bonding-upstream/seq-tracker.ts';
import type { Channel } from '../../plugins/bonding-upstream/channel.ts';

t.test('seq tracker: cumulative point, ranges, duplicates', async (t) => {
  const s = new SeqTracker();
  t.ok(s.add(0));
  t.ok(s.add(2));
  t.ok(s.add(3));
  t.ok(s.add(6));
  t.notOk(s.add(2), 'a duplicate inside a range');
  t.notOk(s.add(0), 'a duplicate below next');
  t.equal(s.next, 1);
  t.same(s.ranges, [[2, 4], [6, 7]]);
  t.ok(s.add(5), 'joins the run above');
  t.same(s.ranges, [[2, 4], [5, 7]]);
  t.ok(s.add(4), 'fills the gap between two runs');
  t.same(s.ranges, [[2, 7]]);
  t.ok(s.add(1), 'fills the hole under the run');
  t.equal(s.next, 7);
  t.same(s.ranges, []);
  for (let i = 0; i < 40; i++) s.add(100 + 2 * i);
  t.equal(s.ackRanges().length, F.MAX_ACK_RANGES, 'an ack carries at most MAX_ACK_RANGES runs, the lowest');
  t.same(s.ackRanges()[0], [100, 101]);
});

t.test('ack frame round trip', async (t) => {
  const b = F.ackFrame(42, [[50, 60], [70, 71]]);
  const frames: F.InFrame[] = [];
  new F.FrameReader(1 << 20).push(b, (f) => frames.push(f));
  t.equal(frames[0]!.type, F.T.ACK);
  t.same(F.parseAck(frames[0]!.body), { next: 42, ranges: [[50, 60], [70, 71]] });
});

t.test('frame reader: any chunking gives the same frames; bad input throws', async (t) => {
  const payload = Buffer.alloc(5000, 7);
  const wire = Buffer.concat([F.dataHead(false, 1, 3, 0, payload.length), payload, F.windowFrame(2, 3, 99), F.probeFrame(F.T.PING, 9, 1.5)]);
  for (const size of [1, 3, 7, 100, 4096, wire.length]) {
    const got: F.InFrame[] = [];
    const r = new F.FrameReader(1 << 20);
    for (let i = 0; i < wire.length; i += size) r.push(wire.subarray(i, i + size), (f) => got.push(f));
    t.same(got.map((f) => f.type), [F.T.DATA, F.T.WINDOW, F.T.PING], `chunks of ${size}`);
    t.equal(got[0]!.body.length, F.DATA_PREFIX + payload.length);
    t.ok(got[0]!.body.subarray(F.DATA_PREFIX).equals(payload));
  }
  t.throws(() => new F.FrameReader(100).push(F.dataHead(false, 1, 1, 0, 500), () => {}), { code: 'WEAVER_ERR_BOND_FRAME' }, 'too large');
  t.throws(() => new F.FrameReader(100).push(Buffer.from([99, 0, 0, 0]), () => {}), { code: 'WEAVER_ERR_BOND_FRAME' }, 'unknown type');
  t.throws(() => new F.FrameReader(100).push(Buffer.from([F.T.WINDOW, 0, 0, 1, 0]), () => {}), { code: 'WEAVER_ERR_BOND_FRAME' }, 'short body');
});

t.test('reassembly: out of order, duplicates, limit, fin', async (t) => {
  const r = new Reassembly();
  const out: Buffer[] = [];
  const deliver = (b: Buffer) => out.push(b);
  t.equal(r.insert(4, Buffer.from('efgh'), false, 100, deliver), 4, 'held');
  t.equal(out.length, 0);
  t.equal(r.pendingBytes, 4);
  t.equal(r.insert(4, Buffer.from('efgh'), false, 100, deliver), 0, 'a duplicate adds nothing');
  t.equal(r.insert(8, Buffer.from(''), true, 100, deliver), 0, 'an empty FIN');
  t.notOk(r.complete);
  t.equal(r.insert(0, Buffer.from('abcd'), false, 100, deliver), 4);
  t.equal(Buffer.concat(out).toString(), 'abcdefgh');
  t.ok(r.complete, 'complete once the FIN offset is reached');
  t.equal(r.pendingBytes, 0);
  t.equal(r.insert(0, Buffer.from('abcd'), false, 100, deliver), 0, 'old data is dropped');
  t.equal(new Reassembly().insert(90, Buffer.alloc(20), false, 100, deliver), -1, 'past the credit');
});

function path(name: string, o: Partial<Path> = {}): Path {
  const p = new Path({ name, remote: 'x:1', weight: 1, cost: 1, priority: 0 });
  p.attach({ mtu: 1000 } as unknown as Channel, 0);
  Object.assign(p, o);
  return p;
}

t.test('active-active: the path where the frame arrives first', async (t) => {
  const fast = path('fast', { minRtt: 5, rate: 12_500_000 });
  const slow = path('slow', { minRtt: 60, rate: 12_500_000 });
  t.equal(earliest([fast, slow], 16_000), fast, 'idle: the lower RTT');
  fast.inflight = 1_000_000; // 80 ms of queue at 12.5 MB/s
  t.equal(earliest([fast, slow], 16_000), slow, 'a long queue on the fast path sends to the slow one');
  fast.inflight = fast.cap;
  slow.inflight = slow.cap;
  t.equal(earliest([fast, slow], 16_000), undefined, 'all full: wait');
  slow.inflight = 0;
  slow.draining = true;
  t.equal(earliest([fast, slow], 16_000), undefined, 'a draining path takes nothing');
});

t.test('active-standby: primary, failover, failback after the hold time', async (t) => {
  const a = path('a', { priority: 0 });
  const b = path('b', { priority: 1 });
  const s = new Scheduler('active-standby', { failbackMs: 1000 });
  t.equal(s.pick([a, b], 100, 10), a);
  a.setState('down', 20);
  t.equal(s.pick([a, b], 100, 20), b, 'failover');
  a.setState('up', 100);
  t.equal(s.pick([a, b], 100, 500), b, 'the primary is back but not for long enough');
  t.equal(s.pick([a, b], 100, 1200), a, 'failback after failbackMs');
});

t.test('weighted: shares follow the weights, interleaved', async (t) => {
  const a = path('a', { effectiveWeight: 3 });
  const b = path('b', { effectiveWeight: 1 });
  const picks = Array.from({ length: 8 }, () => weightedTurn([a, b], 10)!.name).join('');
  t.equal(picks, 'aabaaaba', 'smooth weighted round robin order');
  t.equal([...picks].filter((c) => c === 'a').length, 6);
  t.notMatch(picks, /aaaa/, 'interleaved, not in blocks');
  b.inflight = b.cap;
  const next = [weightedTurn([a, b], 10), weightedTurn([a, b], 10), weightedTurn([a, b], 10), weightedTurn([a, b], 10)];
  t.ok(next.includes(undefined), "when b's turn comes and b is full, nothing is sent");
});

t.test('resend timeout: RFC 6298 from acks (Karn), backoff per stall, blocked time not counted, a mute path', async (t) => {
  const p = new Path({ name: 'a', remote: 'x:1', weight: 1, cost: 1, priority: 0 });
  p.attach({ mtu: 1000, send() {} } as unknown as Channel, 0);
  const probe = { intervalMs: 1e9, downAfterMs: 1e9, degradedRttMs: 0, degradedLoss: 1 };
  const send = (seq: number, at: number, sends = 1) => {
    const f = { seq, head: Buffer.alloc(20), payload: undefined, size: 20, data: 0, path: undefined, sentAt: at, queued: false, acked: false, sends, owner: undefined };
    p.addFrame(f, at);
    return f;
  };
  p.acked(send(0, 0), 100);
  t.equal(p.rto(), 300, 'srtt 100 + 4 × rttvar 50');
  p.acked(send(1, 100, 2), 5000);
  t.equal(p.rto(), 300, 'an ack of a frame sent twice is no RTT sample');
  send(2, 6000);
  t.equal(p.supervise(6299, probe), undefined, 'within the RTO');
  t.equal(p.supervise(6301, probe), 'stalled', 'no ack progress past the RTO');
  t.equal(p.rto(), 600, 'a stall doubles the timeout');
  p.takeFrames();
  p.stalled = false;
  send(3, 7000);
  p.discount(5000, 12_100);
  t.equal(p.supervise(12_100, probe), undefined, 'time the process was blocked is not silence');
  t.equal(p.supervise(12_700, probe), 'stalled', 'but what follows is');
  t.equal(p.rto(), 1200);
  p.takeFrames();
  p.stalled = false;
  p.acked(send(4, 13_000), 13_100);
  t.equal(p.rto(), 250, 'an ack ends the backoff (and the floor holds)');
  send(5, 14_000);
  t.equal(p.supervise(14_300, probe), 'stalled');
  p.lastHeard = 16_400;
  t.equal(p.supervise(16_400, { ...probe, downAfterMs: 1000 }), 'mute', 'stalled and its probes unanswered while the peer is heard: one way is dead');
});
