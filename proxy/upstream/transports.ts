// Upstream transports: a plugin can carry an upstream server's connections over something other
// than a direct TCP connection (a tunnel, a bonded multi-path session…). A server that says
// `via: <scheme>:<name>` gets every connection from the transport registered under `scheme`;
// undici then speaks HTTP (and, for https, TLS) over the Duplex the transport hands back.
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { errors as undiciErrors, type buildConnector } from 'undici';
import { WeaverError } from '../errors.ts';
import { UpstreamError } from './upstream-error.ts';

export interface UpstreamTarget {
  /** Host name or address of the server URL (no brackets for IPv6). */
  readonly host: string;
  readonly port: number;
  readonly protocol: 'http:' | 'https:';
  /** SNI for an https server, when the URL names a host rather than an address. */
  readonly servername: string | undefined;
}

export interface UpstreamTransport {
  /**
   * One new byte stream to `target`, through the transport's path called `name` (the part after
   * the colon of `via`). Reject (or throw) when it cannot be had; the client then gets 502.
   * `signal` aborts when the pool gave up waiting (connect timeout): drop what was started.
   */
  connect(target: UpstreamTarget, name: string, signal: AbortSignal): Duplex | Promise<Duplex>;
}

const SCHEME = /^[a-z][a-z0-9+.-]*$/;

/** The transports plugins registered in one runtime, by scheme. */
export class UpstreamTransports {
  private readonly byScheme = new Map<string, { owner: string; transport: UpstreamTransport }>();

  register(owner: string, scheme: string, transport: UpstreamTransport): void {
    if (!SCHEME.test(scheme)) throw new WeaverError('WEAVER_ERR_UPSTREAM_TRANSPORT', `transport scheme "${scheme}" must match ${SCHEME.source}`);
    const taken = this.byScheme.get(scheme);
    if (taken) throw new WeaverError('WEAVER_ERR_UPSTREAM_TRANSPORT', `transport scheme "${scheme}" is already registered by plugin "${taken.owner}"`);
    this.byScheme.set(scheme, { owner, transport });
  }

  unregister(owner: string): void {
    for (const [scheme, t] of this.byScheme) if (t.owner === owner) this.byScheme.delete(scheme);
  }

  get(scheme: string): UpstreamTransport | undefined {
    return this.byScheme.get(scheme)?.transport;
  }

  has(scheme: string): boolean {
    return this.byScheme.has(scheme);
  }
}

/** `bond:main` → ['bond', 'main']. */
export function parseVia(via: string): [scheme: string, name: string] {
  const at = via.indexOf(':');
  return [via.slice(0, at), via.slice(at + 1)];
}

export interface ViaConnectorOptions {
  readonly timeoutMs: number;
  readonly rejectUnauthorized: boolean;
  readonly allowH2: boolean;
}

/** An undici `connect` function that gets its sockets from the transport `via` names. */
export function viaConnector(transports: UpstreamTransports, via: string, opts: ViaConnectorOptions): buildConnector.connector {
  const [scheme, name] = parseVia(via);
  return (params, callback) => {
    let done = false;
    let stream: Duplex | undefined;
    const abort = new AbortController();
    const finish = (err: Error | null, socket?: Duplex): void => {
      if (done) {
        socket?.destroy();
        return;
      }
      done = true;
      clearTimeout(timer);
      if (err) {
        abort.abort(err);
        stream?.destroy();
        callback(err instanceof WeaverError || (err as { code?: string }).code?.startsWith('UND_') ? err : new UpstreamError('WEAVER_ERR_UPSTREAM_CONNECT', `${via}: ${err.message}`, { cause: err }), null);
      } else callback(null, socket as never);
    };
    const timer = setTimeout(() => finish(new undiciErrors.ConnectTimeoutError(`${via}: connect timed out after ${opts.timeoutMs} ms`)), opts.timeoutMs);
    const transport = transports.get(scheme);
    if (!transport) {
      // Only between a plugin's stop and its pool's close: the runtime refuses a config without it.
      finish(new UpstreamError('WEAVER_ERR_UPSTREAM_CONNECT', `no plugin serves the upstream transport "${scheme}" (via: ${via})`));
      return;
    }
    const https = params.protocol === 'https:';
    const target: UpstreamTarget = {
      host: params.hostname,
      port: Number(params.port) || (https ? 443 : 80),
      protocol: https ? 'https:' : 'http:',
      servername: params.servername ?? undefined,
    };
    Promise.resolve()
      .then(() => transport.connect(target, name, abort.signal))
      .then((duplex) => {
        stream = duplex;
        if (done) return void duplex.destroy();
        if (!https) return finish(null, duplex);
        const tls = tlsConnect({
          socket: duplex,
          servername: target.servername ?? (/^[\d.:]+$/.test(target.host) ? undefined : target.host),
          ALPNProtocols: opts.allowH2 ? ['h2', 'http/1.1'] : ['http/1.1'],
          rejectUnauthorized: opts.rejectUnauthorized,
        });
        tls.once('secureConnect', () => finish(null, tls));
        tls.once('error', (err) => finish(err));
      })
      .catch((err: unknown) => finish(err instanceof Error ? err : new Error(String(err))));
  };
}
