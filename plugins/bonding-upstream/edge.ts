// The edge side of one named session: it dials every channel (TLS 1.3, its own certificate,
// the endpoint's pinned), creates the session on the first channel up and joins the others to
// it with a proof, and redials a channel that dies, for as long as it runs: at the probe rate
// for a while after it was lost (a cut or a flap heals soon, and must be seen to), then with
// exponential backoff.
import { randomBytes } from 'node:crypto';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { TlsChannel } from './channel.ts';
import * as F from './frames.ts';
import type { SessionOptionsT } from './options.ts';
import { Path } from './path.ts';
import { ALPN, joinProof, splitHostPort } from './hello.ts';
import { peerFingerprint } from './pins.ts';
import { Session } from './session.ts';
import type { Telemetry } from './telemetry.ts';

/** A path lost less than this long ago is redialled at its probe rate. */
const QUICK_REDIAL_MS = 30_000;

export interface EdgeIdentity {
  readonly cert: Buffer;
  readonly key: Buffer;
}

export class EdgeSession {
  readonly name: string;
  readonly paths: Path[];
  session: Session;
  private readonly opts: SessionOptionsT;
  private readonly identity: EdgeIdentity;
  private readonly pins: ReadonlySet<string>;
  private readonly log: Logger;
  private readonly telemetry: Telemetry;
  private secret = randomBytes(32);
  private established = false;
  /** The create hello in flight: other channels wait for it, then join. */
  private creating: Promise<boolean> | undefined;
  private readonly retries = new Map<Path, number>();
  /** performance.now() of each path's latest dial. */
  private readonly dialedAt = new Map<Path, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sockets = new Set<TLSSocket>();
  private stopped = false;

  constructor(name: string, opts: SessionOptionsT, identity: EdgeIdentity, pins: ReadonlySet<string>, log: Logger, telemetry: Telemetry) {
    this.name = name;
    this.opts = opts;
    this.identity = identity;
    this.pins = pins;
    this.log = log.child({ session: name });
    this.telemetry = telemetry;
    this.paths = opts.channels.map(
      (c, i) => new Path({ name: c.name, local: c.local, remote: c.remote, weight: c.weight, cost: c.cost, priority: c.priority ?? i }),
    );
    for (const p of this.paths) telemetry.watch('edge', name, p);
    this.session = this.newSession();
  }

  start(): void {
    for (const p of this.paths) this.dial(p);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.session.close('stopping');
    for (const s of this.sockets) s.destroy();
  }

  /** A fresh session; after a restart it keeps the policy the admin API may have changed. */
  private newSession(): Session {
    const o = this.opts;
    const prev = (this.session as Session | undefined)?.policy();
    return new Session(
      randomBytes(16).toString('hex'),
      {
        name: this.name,
        role: 'edge',
        mode: prev?.mode ?? o.mode,
        autoWeights: prev?.autoWeights ?? o.autoWeights,
        failbackMs: prev?.failbackMs ?? o.failbackMs,
        frameBytes: o.frameBytes,
        streamWindow: o.streamWindowBytes,
        sessionWindow: o.sessionWindowBytes,
        maxStreams: Number.MAX_SAFE_INTEGER,
        probe: o.probe,
        stallTimeoutMs: o.stallTimeoutMs,
      },
      this.paths,
      {
        pathDown: (path, reason) => {
          this.log.warn({ channel: path.name, reason }, 'bonded channel down');
          path.reconnects++;
          this.redial(path);
        },
        streamStalled: (s, idleMs) => {
          this.log.warn({ stream: s.id, destination: `${s.host}:${s.port}`, idleMs }, 'bonded stream reset: no progress');
          this.telemetry.stalled('edge', this.name);
        },
      },
    );
  }

  /** The endpoint no longer knows the session (it restarted): streams fail, a new one starts. */
  private restart(reason: string): void {
    if (this.stopped) return;
    this.log.warn({ reason }, 'bonded session lost; starting a new one');
    const old = this.session;
    const connected = this.paths.filter((p) => p.channel !== undefined);
    this.session = this.newSession();
    this.secret = randomBytes(32);
    this.established = false;
    this.creating = undefined;
    old.close(reason);
    // Paths whose hello failed redial on their own; the ones the old session held need a push.
    for (const p of connected) this.redial(p);
  }

  /** It was up, and was lost less than QUICK_REDIAL_MS ago. */
  private lostRecently(path: Path): boolean {
    return path.state === 'down' && path.upSince > 0 && Date.now() - path.since < QUICK_REDIAL_MS;
  }

  private redial(path: Path): void {
    if (this.stopped) return;
    const n = this.retries.get(path) ?? 0;
    this.retries.set(path, n + 1);
    const { minMs, maxMs } = this.opts.reconnect;
    // Recently lost: one dial per probe interval (as often as it was probed while up), counted
    // from the start of the last one, so a restored path is found as soon as a probe would.
    const every = Math.max(minMs, this.opts.probe.intervalMs);
    const delay = this.lostRecently(path)
      ? Math.max(0, every - (performance.now() - (this.dialedAt.get(path) ?? 0)))
      : Math.min(maxMs, minMs * 2 ** Math.min(n, 20)) * (0.8 + Math.random() * 0.4);
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.dial(path);
    }, delay);
    this.timers.add(t);
  }

  private dial(path: Path): void {
    if (this.stopped || path.channel) return;
    const { host, port } = splitHostPort(path.remote);
    const session = this.session;
    this.dialedAt.set(path, performance.now());
    const socket = tlsConnect({
      host,
      port,
      localAddress: path.local,
      cert: this.identity.cert,
      key: this.identity.key,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      ALPNProtocols: [ALPN],
      // The endpoint is authenticated by its pinned fingerprint below, not by a CA.
      rejectUnauthorized: false,
    } as ConnectionOptions);
    this.sockets.add(socket);
    let settled = false;
    const fail = (reason: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(synTimer);
      socket.destroy();
      if (path.state === 'connecting' || path.state === 'down') this.log.debug({ channel: path.name, reason }, 'bonded channel connect failed');
      this.redial(path);
    };
    const timer = setTimeout(() => fail('connect timed out'), this.opts.connectTimeoutMs);
    // A lost SYN waits for the kernel's retransmission (1 s, then 3 s): on a path lost recently,
    // an attempt without an answer in a few RTTs gives way to a fresh one instead.
    const synTimer = this.lostRecently(path) ? setTimeout(() => fail('no answer to connect'), Math.max(this.opts.probe.intervalMs, 3 * path.srtt)) : undefined;
    socket.once('connect', () => clearTimeout(synTimer));
    socket.once('close', () => {
      this.sockets.delete(socket);
      fail('closed during the hello');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
    socket.once('secureConnect', () => {
      const fp = peerFingerprint(socket);
      if (fp === undefined || !this.pins.has(fp)) {
        this.log.error({ channel: path.name, fingerprint: fp }, 'endpoint certificate is not pinned: channel refused');
        return fail('endpoint certificate not pinned');
      }
      void this.hello(path, socket, session).then(
        (ok) => {
          if (!ok) return fail('hello refused');
          settled = true;
          clearTimeout(timer);
          this.retries.delete(path);
        },
        (err: Error) => fail(err.message),
      );
    });
  }

  /** Create or join; true once the channel is attached to the session. */
  private async hello(path: Path, socket: TLSSocket, session: Session): Promise<boolean> {
    if (!this.established && this.creating) await this.creating;
    if (session !== this.session || socket.destroyed) return false;
    const create = !this.established;
    const channel = new TlsChannel(socket, this.opts.frameBytes, this.opts.frameBytes + 64);
    const hello: Record<string, unknown> = {
      v: 1,
      op: create ? 'create' : 'join',
      session: session.id,
      name: this.name,
      channel: path.name,
      streamWindow: this.opts.streamWindowBytes,
      sessionWindow: this.opts.sessionWindowBytes,
    };
    if (create) {
      hello.secret = this.secret.toString('base64');
      hello.policy = session.policy();
    }
    else hello.proof = joinProof(this.secret, socket);
    const answer = new Promise<boolean>((resolve) => {
      channel.onClose(() => resolve(false));
      channel.onFrame((f) => {
        if (f.type === F.T.WELCOME) {
          const w = F.parseJson(f.body);
          session.setPeerWindows(Number(w.streamWindow) || this.opts.streamWindowBytes, Number(w.sessionWindow) || this.opts.sessionWindowBytes);
          this.established = true;
          session.attach(path, channel);
          this.log.info({ channel: path.name, local: channel.description.local, remote: channel.description.remote, op: hello.op }, 'bonded channel up');
          return resolve(true);
        }
        const why = f.type === F.T.REFUSE ? F.parseJson(f.body) : { code: 'unexpected_frame' };
        this.log.warn({ channel: path.name, code: why.code }, 'bonded channel refused by the endpoint');
        channel.close('refused');
        if (why.code === 'unknown_session' && session === this.session) queueMicrotask(() => this.restart('endpoint does not know the session'));
        resolve(false);
      });
    });
    if (create) this.creating = answer;
    channel.send(F.jsonFrame(F.T.HELLO, hello));
    const ok = await answer;
    if (create && this.creating === answer) this.creating = undefined;
    return ok;
  }
}
