// One named path of a session (local address → remote address) and what is measured on it.
// The path outlives its channels: when a channel dies and another is connected on the same
// path, the weights, history and counters carry on.
import type { Channel } from './channel.ts';
import { probeFrame, T } from './frames.ts';
import type { ProbeOptionsT } from './options.ts';

export type PathState = 'connecting' | 'up' | 'degraded' | 'down';

/** A reliable frame waiting for its ack. */
export interface OutFrame {
  readonly seq: number;
  readonly head: Buffer;
  readonly payload: Buffer | undefined;
  /** Bytes on the wire. */
  readonly size: number;
  /** Counted in session credit (new stream bytes), for reporting. */
  readonly data: number;
  path: Path | undefined;
  sentAt: number;
  /** In the resend queue now. */
  queued: boolean;
  acked: boolean;
  sends: number;
  /** The stream whose bytes it carries (DATA/FIN), told when the ack comes. */
  readonly owner: { unacked: number; movedAt: number } | undefined;
}

/** Until a path has carried traffic, assume 100 Mbit/s. */
const INITIAL_RATE = 12_500_000;
const MIN_CAP = 512 * 1024;
/** Probes whose outcome counts in `loss`. */
const LOSS_WINDOW = 20;
const RATE_TICK_MS = 100;
/** Resend timeout bounds (RFC 6298's 1 s floor is too slow for failover; 250 ms is above loopback and LAN jitter). */
const MIN_RTO = 250;
const MAX_RTO = 4000;
const INITIAL_RTO = 1000;
/** Clock granularity term of RFC 6298 (the session's tick). */
const RTO_G = 25;
/** Stalls in a row double the timeout, up to this factor, until an ack shows progress again. */
const MAX_BACKOFF = 8;

export interface PathSpec {
  readonly name: string;
  readonly local?: string | undefined;
  readonly remote: string;
  readonly weight: number;
  readonly cost: number;
  readonly priority: number;
}

export class Path {
  readonly name: string;
  readonly local: string | undefined;
  readonly remote: string;
  cost: number;
  priority: number;
  weight: number;
  /** Weight the weighted mode uses: `weight`, or derived from measurements with autoWeights. */
  effectiveWeight: number;
  /** Smooth weighted round robin's running value. */
  current = 0;
  channel: Channel | undefined;
  draining = false;
  /** Frames went unacked too long: resent elsewhere; no new frames until a probe answers. */
  stalled = false;
  stalledAt = 0;
  /** Like stalledAt, less the time this process was blocked since. */
  stalledSince = 0;
  state: PathState = 'connecting';
  /** Epoch ms of the last state change. */
  since = Date.now();
  /** Told of every state change (the channel_state metric). */
  onState: ((p: Path) => void) | undefined;
  /** performance.now() since the channel has been up without a break (failback hysteresis). */
  upSince = 0;

  srtt = 0;
  minRtt = Infinity;
  jitter = 0;
  private lastRtt = 0;
  /** Bytes per second the path delivers, from acks. */
  rate = INITIAL_RATE;
  loss = 0;

  inflight = 0;
  readonly frames = new Set<OutFrame>();
  lastHeard = 0;
  lastProgress = 0;
  lastPing = 0;
  /** RFC 6298 estimator for the resend timeout, kept apart from srtt (which the scheduler uses). */
  private rtoSrtt = 0;
  private rtoVar = 0;
  private backoff = 1;

  private nextProbe = 1;
  private readonly probes = new Map<number, number>();
  private readonly outcomes: boolean[] = [];
  private deliveredInTick = 0;
  private peakInTick = 0;
  private tickAt = 0;

  sentBytes = 0;
  receivedBytes = 0;
  retransmittedBytes = 0;
  reconnects = 0;

  constructor(spec: PathSpec) {
    this.name = spec.name;
    this.local = spec.local;
    this.remote = spec.remote;
    this.weight = spec.weight;
    this.effectiveWeight = spec.weight;
    this.cost = spec.cost;
    this.priority = spec.priority;
  }

  /** Carries new frames now. */
  get usable(): boolean {
    return this.channel !== undefined && !this.draining && !this.stalled && (this.state === 'up' || this.state === 'degraded');
  }

  /**
   * Bytes it may have unacked: what it delivers in two base RTTs plus 80 ms, for the receiver's
   * ack delay and event-loop lag (a busy host answers late; a cap without that headroom leaves
   * the path idle while acks are on their way). Bounds the queue inside the channel's TCP.
   */
  get cap(): number {
    const base = this.minRtt === Infinity ? 50 : this.minRtt;
    return Math.max(MIN_CAP, (this.rate * (2 * base + 80)) / 1000);
  }

  /** ms from now until `bytes` more would have arrived if sent here now. */
  eta(bytes: number): number {
    const rtt = this.minRtt === Infinity ? this.srtt : this.minRtt;
    return rtt / 2 + ((this.inflight + bytes) / this.rate) * 1000;
  }

  attach(channel: Channel, now: number): void {
    this.channel = channel;
    this.stalled = false;
    this.lastHeard = now;
    this.lastProgress = now;
    this.probes.clear();
    this.setState('up', now);
  }

  setState(state: PathState, now: number): void {
    if (state === this.state) return;
    const wasLive = this.state === 'up' || this.state === 'degraded';
    const live = state === 'up' || state === 'degraded';
    if (live && !wasLive) this.upSince = now;
    this.state = state;
    this.since = Date.now();
    this.onState?.(this);
  }

  addFrame(f: OutFrame, now: number): void {
    if (this.inflight === 0) this.lastProgress = now;
    f.path = this;
    this.frames.add(f);
    this.inflight += f.size;
    if (this.inflight > this.peakInTick) this.peakInTick = this.inflight;
  }

  /** An ack covered `f`, which this path carried. */
  acked(f: OutFrame, now: number): void {
    this.frames.delete(f);
    this.inflight -= f.size;
    this.deliveredInTick += f.size;
    this.lastProgress = now;
    this.backoff = 1;
    // Karn: a frame sent more than once cannot tell which send the ack answers.
    if (f.sends === 1) this.rtoSample(now - f.sentAt);
  }

  /** Everything unacked on this path, which the caller resends elsewhere. */
  takeFrames(): OutFrame[] {
    const out = [...this.frames];
    for (const f of out) f.path = undefined;
    this.frames.clear();
    this.inflight = 0;
    return out;
  }

  private probeId(now: number): number {
    const id = this.nextProbe++ >>> 0;
    this.probes.set(id, now);
    return id;
  }

  /** A probe's answer; true when it ends a stall (the path takes frames again). */
  pong(id: number, sentAt: number, now: number): boolean {
    if (!this.probes.delete(id)) return false;
    this.record(true);
    const rtt = now - sentAt;
    this.rtoSample(rtt);
    if (this.srtt === 0) this.srtt = rtt;
    else {
      this.srtt += (rtt - this.srtt) / 8;
      this.jitter += (Math.abs(rtt - this.lastRtt) - this.jitter) / 16;
    }
    this.lastRtt = rtt;
    if (rtt < this.minRtt) this.minRtt = rtt;
    if (!this.stalled || sentAt < this.stalledAt) return false;
    this.stalled = false;
    return true;
  }

  private rtoSample(rtt: number): void {
    if (this.rtoSrtt === 0) {
      this.rtoSrtt = rtt;
      this.rtoVar = rtt / 2;
    } else {
      this.rtoVar += (Math.abs(this.rtoSrtt - rtt) - this.rtoVar) / 4;
      this.rtoSrtt += (rtt - this.rtoSrtt) / 8;
    }
  }

  /**
   * This process could not run for `ms` (a blocked event loop): what arrived meanwhile still
   * waits behind the timer, so that time must not count as silence from the path.
   */
  discount(ms: number, now: number): void {
    this.lastHeard = Math.min(now, this.lastHeard + ms);
    this.lastProgress = Math.min(now, this.lastProgress + ms);
    this.stalledSince = Math.min(now, this.stalledSince + ms);
    for (const [id, at] of this.probes) this.probes.set(id, Math.min(now, at + ms));
  }

  /** The RTT has grown well above its base: bytes are queueing somewhere on the path. */
  get queueing(): boolean {
    return this.minRtt !== Infinity && this.srtt > this.minRtt + Math.max(5, this.minRtt / 2);
  }

  /**
   * Resend timeout (RFC 6298: srtt + max(G, 4·rttvar), from probe answers and from acks of frames
   * sent once, doubled per stall in a row): no ack progress for this long while frames are out
   * means they are stuck.
   */
  rto(): number {
    const base = this.rtoSrtt === 0 ? INITIAL_RTO : this.rtoSrtt + Math.max(RTO_G, 4 * this.rtoVar);
    return Math.min(MAX_RTO, Math.max(MIN_RTO, base) * this.backoff);
  }

  /**
   * Periodic duties toward the live channel: a probe when one is due; then the verdict — 'dead'
   * (nothing heard for downAfterMs), 'mute' (stalled, and no probe answered for twice that: the
   * path carries nothing this way, though the peer's own frames still come) or 'stalled' (no ack
   * progress within the RTO while frames are out: they are to be resent elsewhere).
   */
  supervise(now: number, probe: ProbeOptionsT): 'dead' | 'mute' | 'stalled' | undefined {
    const ch = this.channel;
    if (!ch) return undefined;
    if (now - this.lastPing >= probe.intervalMs) {
      this.lastPing = now;
      ch.send(probeFrame(T.PING, this.probeId(now), now));
    }
    if (now - this.lastHeard > probe.downAfterMs) return 'dead';
    if (this.stalled && now - this.stalledSince > 2 * probe.downAfterMs) return 'mute';
    if (this.inflight > 0 && !this.stalled && now - this.lastProgress > this.rto()) {
      this.stalled = true;
      this.stalledAt = now;
      this.stalledSince = now;
      this.backoff = Math.min(MAX_BACKOFF, this.backoff * 2);
      this.setState('degraded', now);
      return 'stalled';
    }
    return undefined;
  }

  /** Periodic: rate samples, lost probes, the state. */
  tick(now: number, probe: ProbeOptionsT): void {
    if (now - this.tickAt >= RATE_TICK_MS) {
      const dt = (now - this.tickAt) / 1000;
      if (this.tickAt > 0 && this.deliveredInTick > 0) {
        const sample = this.deliveredInTick / dt;
        // Only a path at its bottleneck shows what it can do: kept busy, with a queue building
        // (RTT above its base). Otherwise the sample is a lower bound and may only raise it.
        if (this.peakInTick >= this.cap / 2 && this.queueing) this.rate += (sample - this.rate) / 4;
        else if (sample > this.rate) this.rate += (sample - this.rate) / 2;
      }
      this.tickAt = now;
      this.deliveredInTick = 0;
      this.peakInTick = this.inflight;
    }
    const lostAfter = Math.max(probe.downAfterMs / 2, 3 * this.srtt);
    for (const [id, at] of this.probes) {
      if (now - at < lostAfter) break;
      this.probes.delete(id);
      this.record(false);
    }
    if (this.channel === undefined) return;
    const degraded = this.stalled || this.loss > probe.degradedLoss || (probe.degradedRttMs > 0 && this.srtt > probe.degradedRttMs);
    this.setState(degraded ? 'degraded' : 'up', now);
  }

  private record(ok: boolean): void {
    this.outcomes.push(ok);
    if (this.outcomes.length > LOSS_WINDOW) this.outcomes.shift();
    this.loss = this.outcomes.filter((o) => !o).length / this.outcomes.length;
  }

  describe() {
    return {
      name: this.name,
      local: this.local ?? null,
      remote: this.remote,
      state: this.state,
      channel: this.channel?.description ?? null,
      draining: this.draining,
      stalled: this.stalled,
      weight: this.weight,
      effectiveWeight: Math.round(this.effectiveWeight * 100) / 100,
      cost: this.cost,
      priority: this.priority,
      rttMs: round(this.srtt),
      minRttMs: this.minRtt === Infinity ? null : round(this.minRtt),
      jitterMs: round(this.jitter),
      loss: round(this.loss),
      deliveryRateBytesPerSec: Math.round(this.rate),
      inflightBytes: this.inflight,
      sentBytes: this.sentBytes,
      receivedBytes: this.receivedBytes,
      retransmittedBytes: this.retransmittedBytes,
      reconnects: this.reconnects,
      since: new Date(this.since).toISOString(),
    };
  }
}

const round = (n: number): number => Math.round(n * 100) / 100;
