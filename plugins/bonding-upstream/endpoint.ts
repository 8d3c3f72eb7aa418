// The endpoint role: TLS 1.3 servers on its own addresses that accept channels only from pinned
// edges, bind each channel to a session (create, or join with a proof), and open a real TCP
// connection for each stream whose destination the allow list names — nothing else.
import { timingSafeEqual } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { AllowList } from './allow-list.ts';
import type { BondStream } from './bond-stream.ts';
import { TlsChannel } from './channel.ts';
import { ALPN, joinProof, splitHostPort } from './hello.ts';
import { holdListener, releaseListener, type ChannelOwner } from './listeners.ts';
import * as F from './frames.ts';
import type { EndpointOptionsT } from './options.ts';
import { Path } from './path.ts';
import { peerFingerprint } from './pins.ts';
import { parsePolicy } from './policy.ts';
import { Session } from './session.ts';
import type { Telemetry } from './telemetry.ts';

export interface Peer {
  readonly name: string;
  readonly pins: ReadonlySet<string>;
}

export interface EndpointSession {
  readonly key: string;
  readonly peer: Peer;
  readonly secret: Buffer;
  readonly session: Session;
  /** The instance whose allow list its streams follow: the newest, after a reload. */
  owner: Endpoint;
  /** performance.now() since no channel is attached, or 0. */
  orphanedAt: number;
}

const HELLO_TIMEOUT_MS = 5_000;
const MAX_PATHS = 16;
const NAME = /^[A-Za-z0-9._-]{1,64}$/;

export class Endpoint implements ChannelOwner {
  /** Shared with the instance this one took over from (a reload), if any. */
  sessions = new Map<string, EndpointSession>();
  private readonly opts: EndpointOptionsT;
  private readonly peers: readonly Peer[];
  private readonly allow: AllowList;
  private readonly log: Logger;
  private readonly telemetry: Telemetry;
  private readonly identity: { cert: Buffer; key: Buffer };
  private readonly timer: NodeJS.Timeout;
  private readonly tcp = new Set<Socket>();

  constructor(opts: EndpointOptionsT, identity: { cert: Buffer; key: Buffer }, peers: readonly Peer[], log: Logger, telemetry: Telemetry) {
    this.opts = opts;
    this.peers = peers;
    this.allow = new AllowList(opts.allow);
    this.log = log.child({ role: 'endpoint' });
    this.telemetry = telemetry;
    this.identity = identity;
    this.timer = setInterval(() => this.reap(), 1_000);
    this.timer.unref();
  }

  /**
   * Listens on every address. After a reload the previous instance may hold them: this one
   * takes them over, and its sessions with them (channels and streams carry on).
   */
  async listen(): Promise<void> {
    for (const addr of this.opts.listen) {
      const { host, port } = splitHostPort(addr);
      const previous = await holdListener({ host, port, cert: this.identity.cert, key: this.identity.key, alpn: ALPN }, this);
      if (previous instanceof Endpoint && previous.sessions !== this.sessions) {
        this.sessions = previous.sessions;
        for (const es of this.sessions.values()) es.owner = this;
      }
    }
  }

  /** Lets go of the addresses; the sessions pass to whoever holds them now, or close. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    let heir: Endpoint | undefined;
    for (const addr of this.opts.listen) {
      const { host, port } = splitHostPort(addr);
      const now = releaseListener(host, port, this);
      if (now instanceof Endpoint) heir ??= now;
    }
    if (heir) {
      for (const es of this.sessions.values()) if (es.owner === this) es.owner = heir;
      return;
    }
    for (const s of this.sessions.values()) s.session.close('endpoint stopping');
    this.sessions.clear();
    for (const t of this.tcp) t.destroy();
  }

  handshakeFailed(err: NodeJS.ErrnoException, remote: string | undefined): void {
    this.log.debug({ remote, code: err.code }, 'bonding channel handshake failed');
  }

  channel(socket: TLSSocket): void {
    const fp = peerFingerprint(socket);
    const peer = fp === undefined ? undefined : this.peers.find((p) => p.pins.has(fp));
    if (!peer) {
      this.log.warn({ remote: socket.remoteAddress, fingerprint: fp ?? null }, 'bonding channel refused: edge certificate not pinned');
      this.telemetry.refused('', 'not_pinned');
      socket.destroy();
      return;
    }
    const channel = new TlsChannel(socket, this.opts.frameBytes, this.opts.frameBytes + 64);
    const timer = setTimeout(() => channel.close('no hello in time'), HELLO_TIMEOUT_MS);
    channel.onClose(() => clearTimeout(timer));
    channel.onFrame((f) => {
      clearTimeout(timer);
      try {
        if (f.type !== F.T.HELLO) throw new F.FrameError('expected a hello');
        this.hello(channel, socket, peer, F.parseJson(f.body));
      } catch (err) {
        this.refuse(channel, 'bad_hello', (err as Error).message);
      }
    });
  }

  private refuse(channel: TlsChannel, code: string, message: string, session = ''): void {
    this.log.warn({ code, reason: message, remote: channel.description.remote }, 'bonding channel refused');
    this.telemetry.refused(session, code);
    channel.send(F.jsonFrame(F.T.REFUSE, { code, message }));
    setTimeout(() => channel.close(`refused: ${code}`), 50).unref();
  }

  private hello(channel: TlsChannel, socket: TLSSocket, peer: Peer, h: Record<string, unknown>): void {
    const id = h.session;
    const name = h.name;
    const ch = h.channel;
    if (h.v !== 1 || typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id) || typeof name !== 'string' || !NAME.test(name) || typeof ch !== 'string' || !NAME.test(ch)) {
      return this.refuse(channel, 'bad_hello', 'malformed hello');
    }
    const key = `${peer.name}/${name}`;
    let es = this.sessions.get(id);
    if (h.op === 'create') {
      const secret = typeof h.secret === 'string' ? Buffer.from(h.secret, 'base64') : Buffer.alloc(0);
      if (secret.length !== 32) return this.refuse(channel, 'bad_hello', 'secret must be 32 bytes');
      if (es) return this.refuse(channel, 'session_exists', 'session id already in use', key);
      // An edge that restarted leaves its old session behind; with no channel left, reap() drops
      // it. (Not replaced by name here: each worker of a multi-worker edge has a session of its own.)
      if (this.sessions.size >= this.opts.maxSessions) return this.refuse(channel, 'too_many_sessions', 'session limit reached', key);
      const policy = parsePolicy(h.policy);
      if (!policy) return this.refuse(channel, 'bad_hello', 'bad policy', key);
      es = this.newSession(id, key, peer, secret, h);
      es.session.applyPolicy(policy);
      this.sessions.set(id, es);
    } else if (h.op === 'join') {
      if (!es) return this.refuse(channel, 'unknown_session', 'no such session', key);
      const proof = typeof h.proof === 'string' ? Buffer.from(h.proof, 'hex') : Buffer.alloc(0);
      const expected = Buffer.from(joinProof(es.secret, socket), 'hex');
      // By name: after a reload the peer's entry is a new object (and its pins may have changed).
      if (es.peer.name !== peer.name || proof.length !== expected.length || !timingSafeEqual(proof, expected)) {
        return this.refuse(channel, 'join_refused', 'channel does not belong to the session', es.key);
      }
    } else return this.refuse(channel, 'bad_hello', 'op must be create or join');

    const session = es.session;
    let path = session.paths.find((p) => p.name === ch);
    if (!path) {
      if (session.paths.length >= MAX_PATHS) return this.refuse(channel, 'too_many_channels', 'channel limit reached', es.key);
      path = new Path({ name: ch, remote: channel.description.remote, local: channel.description.local, weight: 1, cost: 1, priority: session.paths.length });
      this.telemetry.watch('endpoint', es.key, path);
      session.addPath(path);
    }
    es.orphanedAt = 0;
    channel.send(F.jsonFrame(F.T.WELCOME, { streamWindow: this.opts.streamWindowBytes, sessionWindow: this.opts.sessionWindowBytes }));
    session.attach(path, channel);
    this.log.info({ session: es.key, channel: ch, remote: channel.description.remote, op: h.op }, 'bonding channel joined');
  }

  private newSession(id: string, key: string, peer: Peer, secret: Buffer, h: Record<string, unknown>): EndpointSession {
    const o = this.opts;
    const holder: { es?: EndpointSession } = {};
    const session = new Session(
      id,
      {
        name: key,
        role: 'endpoint',
        mode: 'active-active',
        autoWeights: false,
        failbackMs: 0,
        frameBytes: o.frameBytes,
        streamWindow: o.streamWindowBytes,
        sessionWindow: o.sessionWindowBytes,
        maxStreams: o.maxStreams,
        probe: o.probe,
        stallTimeoutMs: o.stallTimeoutMs,
      },
      [],
      {
        pathDown: (path, reason) => this.log.warn({ session: key, channel: path.name, reason }, 'bonding channel down'),
        open: (stream) => holder.es!.owner.open(session, key, stream),
        streamStalled: (s, idleMs) => {
          this.log.warn({ session: key, stream: s.id, destination: `${s.host}:${s.port}`, idleMs }, 'bonding stream reset: no progress');
          this.telemetry.stalled('endpoint', key);
        },
      },
    );
    const clamp = (v: unknown, def: number) => (typeof v === 'number' && v >= 65_536 && v <= 1_073_741_824 ? v : def);
    session.setPeerWindows(clamp(h.streamWindow, o.streamWindowBytes), clamp(h.sessionWindow, o.sessionWindowBytes));
    holder.es = { key, peer, secret, session, owner: this, orphanedAt: 0 };
    return holder.es;
  }

  open(session: Session, key: string, stream: BondStream): void {
    if (!this.allow.allows(stream.host, stream.port) || stream.port === 0) {
      this.log.warn({ session: key, host: stream.host, port: stream.port }, 'stream refused: destination not allowed');
      this.telemetry.refused(key, 'not_allowed');
      return session.refuse(stream, 'not_allowed');
    }
    const tcp = netConnect({ host: stream.host, port: stream.port, timeout: this.opts.connectTimeoutMs });
    this.tcp.add(tcp);
    let connected = false;
    tcp.once('timeout', () => {
      if (!connected) tcp.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }));
    });
    tcp.once('connect', () => {
      connected = true;
      tcp.setTimeout(0);
      tcp.setNoDelay(true);
      session.accept(stream);
      stream.pipe(tcp);
      tcp.pipe(stream);
    });
    tcp.on('error', (err: NodeJS.ErrnoException) => {
      if (connected) return void stream.destroy(err);
      this.telemetry.refused(key, 'connect_failed');
      session.refuse(stream, `connect_failed: ${err.code ?? err.message}`);
    });
    tcp.once('close', () => {
      this.tcp.delete(tcp);
      // Closed without an end from the destination: the edge must hear it was cut short.
      if (connected && !stream.destroyed && !stream.writableEnded) stream.destroy(new Error('destination closed'));
    });
    stream.once('close', () => tcp.destroy());
    stream.on('error', () => tcp.destroy());
  }

  /** Sessions without any channel for sessionIdleMs are dropped with their streams. */
  private reap(): void {
    const now = performance.now();
    for (const [id, es] of this.sessions) {
      if (es.session.paths.some((p) => p.channel !== undefined)) {
        es.orphanedAt = 0;
        continue;
      }
      if (es.orphanedAt === 0) es.orphanedAt = now;
      else if (now - es.orphanedAt > this.opts.sessionIdleMs) {
        this.log.info({ session: es.key }, 'bonding session dropped: no channel');
        es.session.close('no channel');
        this.sessions.delete(id);
      }
    }
  }
}
