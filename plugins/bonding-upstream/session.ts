// The session engine, the same at both ends: streams cut into sequenced frames, spread over the
// paths by the mode's scheduler, acked (cumulative + selective), resent on another path when a
// path dies or stalls, reassembled in order, and bounded by per-stream and per-session credit.
// How streams open and end (OPEN/OPENED/RESET, the stall watchdog) is in stream-lifecycle.ts.
import { Acker } from './acker.ts';
import { StreamError, type BondStream, type StreamOwner } from './bond-stream.ts';
import type { Channel } from './channel.ts';
import * as F from './frames.ts';
import type { BondMode, ProbeOptionsT } from './options.ts';
import { Outbox } from './outbox.ts';
import { SessionCredit } from './session-credit.ts';
import type { Path } from './path.ts';
import { applyChannelPolicy, channelPolicy, parsePolicy, type ChannelPolicy, type Policy } from './policy.ts';
import { derivedWeight, Scheduler } from './scheduler.ts';
import { StreamLifecycle } from './stream-lifecycle.ts';

export interface SessionSettings {
  readonly name: string;
  readonly role: 'edge' | 'endpoint';
  mode: BondMode;
  autoWeights: boolean;
  readonly failbackMs: number;
  readonly frameBytes: number;
  readonly streamWindow: number;
  readonly sessionWindow: number;
  readonly maxStreams: number;
  readonly probe: ProbeOptionsT;
  /** A stream with bytes to send or unacked that moves nothing for this long is reset (0: never). */
  readonly stallTimeoutMs: number;
}

export interface SessionEvents {
  /** A channel of `path` closed (the edge reconnects it). */
  pathDown?(path: Path, reason: string): void;
  /** Endpoint: the peer opened a stream; answer with accept() or refuse(). */
  open?(stream: BondStream): void;
  /** A stream was reset for making no progress (counted in `stalledStreams`). */
  streamStalled?(stream: BondStream, idleMs: number): void;
}

const TICK_MS = 25;

export class Session implements StreamOwner {
  readonly settings: SessionSettings;
  readonly paths: Path[];
  readonly streams = new Map<number, BondStream>();
  readonly id: string;
  private readonly events: SessionEvents;
  private readonly scheduler: Scheduler;
  private readonly lifecycle: StreamLifecycle;
  private readonly ready = new Set<BondStream>();

  private readonly out = new Outbox();
  private pumping = false;

  private readonly acks = new Acker((frame) => this.sendAck(frame));

  private readonly credit: SessionCredit;
  private readonly timer: NodeJS.Timeout;
  private readonly tickMs: number;
  private lastTick: number;
  private peerPolicy: Policy | undefined;
  closed = false;

  constructor(id: string, settings: SessionSettings, paths: Path[], events: SessionEvents) {
    this.id = id;
    this.settings = settings;
    this.paths = paths;
    this.events = events;
    this.scheduler = new Scheduler(settings.mode, { failbackMs: settings.failbackMs });
    this.credit = new SessionCredit(settings.sessionWindow, (limit) => this.control((seq) => F.windowFrame(seq, 0, limit)));
    this.lifecycle = new StreamLifecycle({
      role: settings.role,
      maxStreams: settings.maxStreams,
      streamWindow: settings.streamWindow,
      streams: this.streams,
      credit: this.credit,
      owner: this,
      control: (build) => this.control(build),
      open: events.open,
      stalled: events.streamStalled,
    });
    this.tickMs = Math.min(TICK_MS, settings.probe.intervalMs);
    this.lastTick = performance.now();
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  /** What the peer said in its hello (edge: the welcome) about its receive windows. */
  setPeerWindows(stream: number, session: number): void {
    this.credit.setPeer(stream, session);
  }

  policy(): Policy {
    const channels: Record<string, ChannelPolicy> = {};
    for (const p of this.paths) channels[p.name] = channelPolicy(p);
    return { mode: this.settings.mode, autoWeights: this.settings.autoWeights, failbackMs: this.scheduler.opts.failbackMs, channels };
  }

  /** The edge's policy, here (endpoint) or after an admin change (edge, which then announces it). */
  applyPolicy(policy: Policy): void {
    this.peerPolicy = policy;
    this.settings.mode = policy.mode;
    this.scheduler.mode = policy.mode;
    this.scheduler.opts.failbackMs = policy.failbackMs;
    this.settings.autoWeights = policy.autoWeights;
    for (const p of this.paths) {
      const c = policy.channels[p.name];
      if (c) applyChannelPolicy(p, c);
      if (policy.autoWeights) p.effectiveWeight = derivedWeight(p);
      p.current = 0;
    }
    this.pump();
  }

  /** Edge: the policy changed here; the endpoint follows. */
  announce(): void {
    const policy = this.policy();
    this.control((seq) => F.settingsFrame(seq, policy));
  }

  /** Endpoint: a channel joined under a path name not seen before. */
  addPath(path: Path): void {
    const c = this.peerPolicy?.channels[path.name];
    if (c) applyChannelPolicy(path, c);
    this.paths.push(path);
  }

  /** Send and receive bytes of streams still held here (queues, reassembly, unacked). */
  get bufferedBytes(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.queuedBytes + s.readableLength + s.rx.pendingBytes;
    return n + this.out.dataBytes;
  }

  get receiveBufferedBytes(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.readableLength + s.rx.pendingBytes;
    return n;
  }

  // ---- channels

  attach(path: Path, channel: Channel): void {
    const old = path.channel;
    if (old && old !== channel) old.close('replaced by a new channel');
    path.attach(channel, performance.now());
    channel.onFrame((f) => this.onFrame(path, channel, f));
    channel.onClose((reason) => this.detach(path, channel, reason));
    this.pump();
  }

  private detach(path: Path, channel: Channel, reason: string): void {
    if (path.channel !== channel) return;
    path.channel = undefined;
    path.setState('down', performance.now());
    this.out.requeue(path.takeFrames());
    this.events.pathDown?.(path, reason);
    this.pump();
  }

  // ---- streams

  /** Edge: a new stream to host:port at the far end; resolves once the endpoint connected it. */
  open(host: string, port: number, signal?: AbortSignal): Promise<BondStream> {
    if (this.closed) return Promise.reject(new StreamError('WEAVER_ERR_BOND_CLOSED', `session ${this.settings.name} is closed`));
    return this.lifecycle.open(host, port, signal);
  }

  /** Endpoint: the stream's destination is connected. */
  accept(s: BondStream): void {
    this.lifecycle.accept(s);
  }

  /** Endpoint: the stream may not be opened (`code` reaches the edge). */
  refuse(s: BondStream, code: string): void {
    this.lifecycle.refuse(s, code);
  }

  wake(s: BondStream): void {
    this.ready.add(s);
    this.pump();
  }

  consumed(s: BondStream): void {
    const taken = s.consumedOffset - s.rxCounted;
    if (taken > 0) s.rxCounted += taken;
    const w = this.settings.streamWindow;
    if (s.rx.finalSize === undefined && s.consumedOffset + w - s.rxLimit >= w / 4) {
      s.rxLimit = s.consumedOffset + w;
      const limit = s.rxLimit;
      this.control((seq) => F.windowFrame(seq, s.id, limit));
    }
    if (taken > 0) this.credit.consume(taken);
  }

  streamClosed(s: BondStream, clean: boolean, reason: string): void {
    if (this.streams.get(s.id) !== s) return;
    this.ready.delete(s);
    this.lifecycle.closed(s, clean || this.closed, reason);
  }

  // ---- sending

  private control(build: (seq: number) => Buffer): void {
    const seq = this.out.nextSeq();
    this.out.add(seq, build(seq), undefined, 0, this.scheduler.any(this.paths));
  }

  /** Sends what may be sent now: resends first, then stream data round robin over the streams. */
  pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    try {
      const now = performance.now();
      for (let f = this.out.nextResend(); f !== undefined; f = this.out.nextResend()) {
        const p = f.data > 0 ? this.scheduler.pick(this.paths, f.size, now) : this.scheduler.any(this.paths);
        if (!p) return;
        this.out.transmit(this.out.takeResend(), p);
      }
      const frame = this.settings.frameBytes;
      while (this.ready.size > 0) {
        for (const s of this.ready) {
          if (!s.hasWork) {
            this.ready.delete(s);
            continue;
          }
          const p = this.scheduler.pick(this.paths, frame + F.HEADER + F.DATA_PREFIX, now);
          if (!p) return;
          const credit = this.credit.available;
          const t = s.takeFrame(Math.min(frame, p.channel!.mtu, Math.max(0, credit)));
          if (!t) {
            if (credit <= 0) return;
            this.ready.delete(s);
            continue;
          }
          const len = t.payload?.length ?? 0;
          this.credit.spend(len);
          const seq = this.out.nextSeq();
          this.out.add(seq, F.dataHead(t.fin, seq, s.id, t.offset, len), t.payload, len, p, s);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  // ---- receiving

  private onFrame(path: Path, channel: Channel, f: F.InFrame): void {
    const now = performance.now();
    path.lastHeard = now;
    path.receivedBytes += F.HEADER + f.body.length;
    try {
      if (F.isReliable(f.type)) {
        if (this.acks.received(F.readSeq(f.body), f.body.length)) this.onReliable(f.type, f.body, now);
        return;
      }
      switch (f.type) {
        case F.T.ACK: {
          const { next, ranges } = F.parseAck(f.body);
          this.out.ack(next, ranges, now);
          return this.pump();
        }
        case F.T.PING:
          channel.send(F.probeFrame(F.T.PONG, f.body.readUInt32BE(0), f.body.readDoubleBE(4)));
          return;
        case F.T.PONG:
          // A stalled path that answers takes frames again: nothing else may be coming to say so.
          if (path.pong(f.body.readUInt32BE(0), f.body.readDoubleBE(4), now)) this.pump();
          return;
        default:
          throw new F.FrameError(`unexpected frame type ${f.type} in a session`);
      }
    } catch (err) {
      channel.close(`protocol error: ${(err as Error).message}`);
    }
  }

  private onReliable(type: number, body: Buffer, now: number): void {
    const id = type === F.T.SETTINGS ? 0 : body.readUInt32BE(6);
    switch (type) {
      case F.T.DATA:
      case F.T.FIN:
        return this.onData(id, body.readUIntBE(10, 6), body.subarray(F.DATA_PREFIX), type === F.T.FIN, now);
      case F.T.WINDOW: {
        const limit = body.readUIntBE(10, 6);
        if (id === 0) this.credit.raise(limit);
        else {
          const s = this.streams.get(id);
          if (!s || limit <= s.peerLimit) return;
          s.peerLimit = limit;
          this.ready.add(s);
        }
        return this.pump();
      }
      case F.T.OPEN:
        return this.lifecycle.onOpen(id, body.readUInt16BE(10), body.subarray(12).toString('utf8'));
      case F.T.OPENED:
        return this.lifecycle.onOpened(id);
      case F.T.RESET:
        return this.lifecycle.onReset(id, body.readUIntBE(10, 6), body.subarray(16).toString('utf8'));
      case F.T.SETTINGS: {
        const policy = this.settings.role === 'endpoint' ? parsePolicy(F.parseJson(body.subarray(6))) : undefined;
        if (!policy) throw new F.FrameError('bad SETTINGS');
        return this.applyPolicy(policy);
      }
    }
  }

  private onData(id: number, offset: number, payload: Buffer, fin: boolean, now: number): void {
    const s = this.streams.get(id);
    if (!s) return;
    const fresh = s.rx.insert(offset, payload, fin, s.rxLimit, s.deliver);
    if (fresh < 0 || !this.credit.receive(fresh)) {
      s.destroy(new StreamError('WEAVER_ERR_BOND_FLOW_CONTROL', 'peer sent past its credit'));
      return;
    }
    if (fresh > 0) s.movedAt = now;
    s.rxFresh += fresh;
    if (s.rx.complete) s.endReceive();
  }

  /** On the two paths heard from most recently: one blackholed path cannot hold every ack back. */
  private sendAck(frame: Buffer): void {
    // The two latest-heard live paths, ties in path order, without sorting a copy per ack.
    let first: Path | undefined;
    let second: Path | undefined;
    for (const p of this.paths) {
      if (p.channel === undefined) continue;
      if (first === undefined || p.lastHeard > first.lastHeard) {
        second = first;
        first = p;
      } else if (second === undefined || p.lastHeard > second.lastHeard) second = p;
    }
    first?.channel!.send(frame);
    second?.channel!.send(frame);
  }

  // ---- monitoring

  private tick(): void {
    const now = performance.now();
    // Time this process could not run (a late tick) is not silence from the paths: what arrived
    // meanwhile still waits behind this timer.
    const blocked = now - this.lastTick - 2 * this.tickMs;
    this.lastTick = now;
    const probe = this.settings.probe;
    for (const p of this.paths) {
      if (blocked > 0) p.discount(blocked, now);
      p.tick(now, probe);
      if (this.settings.autoWeights) p.effectiveWeight = derivedWeight(p);
      const verdict = p.supervise(now, probe);
      if (verdict === 'dead') p.channel?.close(`nothing heard for ${Math.round(now - p.lastHeard)} ms`);
      else if (verdict === 'mute') p.channel?.close(`stalled, no probe answered for ${Math.round(now - p.stalledSince)} ms`);
      else if (verdict === 'stalled') this.out.requeue(p.takeFrames());
    }
    if (this.settings.stallTimeoutMs > 0) this.lifecycle.resetStalled(now, Math.max(0, blocked), this.settings.stallTimeoutMs);
    // Whatever waits for a path (resends, streams with data) tries again every tick, so a wake-up
    // that never came (a path usable again, a cap raised) costs a tick, not the stream.
    if (this.out.resendLength > 0 || this.ready.size > 0) this.pump();
  }

  /** Everything stops: streams fail with `reason`, channels close. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.acks.close();
    for (const s of [...this.streams.values()]) s.destroy(new StreamError('WEAVER_ERR_BOND_CLOSED', reason));
    for (const p of this.paths) {
      p.takeFrames();
      const ch = p.channel;
      p.channel = undefined;
      ch?.close(reason);
      p.setState('down', performance.now());
    }
    this.out.clear();
  }

  describe() {
    return {
      id: this.id,
      mode: this.settings.mode,
      autoWeights: this.settings.autoWeights,
      streams: this.streams.size,
      bufferedBytes: this.bufferedBytes,
      receiveBufferedBytes: this.receiveBufferedBytes,
      unackedFrames: this.out.frames,
      resendQueue: this.out.resendLength,
      sendCreditBytes: this.credit.available,
      stalledStreams: this.lifecycle.stalledStreams,
      channels: this.paths.map((p) => p.describe()),
    };
  }
}
