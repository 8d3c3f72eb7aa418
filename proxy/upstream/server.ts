// One upstream server: its undici connection pool, the live numbers a balancer or a plugin
// ranks it by, and whether it is in rotation. Plugins get `candidate`, a read-only view with the
// same identity for the server's whole life, so they can keep it in a Map or compare it with `===`.
import { Pool, type buildConnector } from 'undici';
import type { UpstreamConfig } from '../config/schema.ts';
import type { UpstreamCandidate } from '../plugin/types.ts';
import { UpstreamTransports, viaConnector } from './transports.ts';

/** Weight of a new sample in the latency average: ~10 samples to follow a real shift. */
const EWMA_ALPHA = 0.2;

export class UpstreamServer {
  /** The URL origin, e.g. http://127.0.0.1:8081. */
  readonly id: string;
  readonly url: string;
  readonly weight: number;
  readonly labels: readonly string[];
  /** `<scheme>:<name>` of the transport the connections go through, or undefined for TCP. */
  readonly via: string | undefined;
  readonly dispatcher: Pool;
  readonly candidate: UpstreamCandidate;
  inflight = 0;
  /** Smoothed time to response headers in ms; 0 until the first response. */
  latencyMs = 0;
  /** performance.now() of the last latency sample, so a balancer can age it. */
  latencyAt = 0;
  /** Exchanges started, retries and tunnels included. */
  requests = 0;
  /** Exchanges that failed: 5xx answers, resets, timeouts, connect failures. */
  failures = 0;
  /** What active health checks say; true when none are configured. */
  healthy = true;
  /** Epoch ms when the current outlier ejection ends; 0 when not ejected. */
  ejectedUntil = 0;

  /** `transports` serves servers with `via`; without it such a server cannot connect. */
  constructor(server: UpstreamConfig['servers'][number], pool: UpstreamConfig, transports?: UpstreamTransports) {
    const origin = new URL(server.url).origin;
    this.id = origin;
    this.url = server.url;
    this.weight = server.weight;
    this.labels = Object.freeze([...server.labels]);
    this.via = server.via;
    // undici rejects a zero keep-alive; 1 ms closes idle sockets as soon as it can.
    const keepAlive = Math.max(1, pool.keepAliveTimeoutMs);
    this.dispatcher = new Pool(origin, {
      connections: pool.connections,
      keepAliveTimeout: keepAlive,
      // A server's keep-alive hint may shorten the idle time, never stretch it past ours.
      keepAliveMaxTimeout: keepAlive,
      headersTimeout: pool.headersTimeoutMs,
      bodyTimeout: pool.bodyTimeoutMs,
      allowH2: pool.http2,
      connect: upstreamConnect(server.via, pool, pool.connectTimeoutMs, transports),
    });
    this.candidate = new ServerView(this);
  }

  /** Healthy and not ejected: the pool offers it to balancers and plugins. */
  get inRotation(): boolean {
    return this.healthy && this.ejectedUntil === 0;
  }

  recordLatency(ms: number): void {
    this.latencyMs = this.latencyMs === 0 ? ms : this.latencyMs + EWMA_ALPHA * (ms - this.latencyMs);
    this.latencyAt = performance.now();
  }

  /**
   * Waits for requests in flight, then closes every connection; after `graceMs` whatever is left
   * is destroyed. By then the clients those requests belonged to are gone, and undici's close
   * can otherwise wait seconds on orphaned exchanges.
   */
  async close(graceMs = Infinity): Promise<void> {
    const closing = this.dispatcher.close();
    if (graceMs === Infinity) return closing;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), graceMs);
    });
    const tooLate = await Promise.race([closing.then(() => false), late]);
    clearTimeout(timer);
    if (tooLate) await this.dispatcher.destroy();
  }
}

/** undici's `connect` option for a server: plain TCP/TLS, or the transport its `via` names. */
export function upstreamConnect(
  via: string | undefined,
  pool: UpstreamConfig,
  timeoutMs: number,
  transports: UpstreamTransports | undefined,
): buildConnector.BuildOptions | buildConnector.connector {
  if (via === undefined) return { timeout: timeoutMs, rejectUnauthorized: !pool.tlsInsecure };
  return viaConnector(transports ?? new UpstreamTransports(), via, { timeoutMs, rejectUnauthorized: !pool.tlsInsecure, allowH2: pool.http2 });
}

/** What plugins see of a server: the numbers, live, and no way to reach the pool behind them. */
class ServerView implements UpstreamCandidate {
  readonly #server: UpstreamServer;
  readonly id: string;
  readonly url: string;
  readonly weight: number;
  readonly labels: readonly string[];

  constructor(server: UpstreamServer) {
    this.#server = server;
    this.id = server.id;
    this.url = server.url;
    this.weight = server.weight;
    this.labels = server.labels;
    Object.freeze(this);
  }

  get inflight(): number {
    return this.#server.inflight;
  }

  get latencyMs(): number {
    return this.#server.latencyMs;
  }

  get healthy(): boolean {
    return this.#server.healthy;
  }

  get ejected(): boolean {
    return this.#server.ejectedUntil !== 0;
  }

  toJSON(): UpstreamCandidate {
    return {
      id: this.id,
      url: this.url,
      weight: this.weight,
      labels: this.labels,
      inflight: this.inflight,
      latencyMs: this.latencyMs,
      healthy: this.healthy,
      ejected: this.ejected,
    };
  }
}
