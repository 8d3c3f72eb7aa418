// The core's per-connection record. Plugins see it through the read-only ConnectionContext.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ConnectionContext, HandshakeInfo, HelloInfo, TagValue } from './plugin/types.ts';
import type { HelloArrival } from './clienthello/types.ts';
import { parseClientHello } from './clienthello/parse.ts';
import { LazyHelloInfo } from './clienthello/hello-info.ts';

let sequence = 0;
const prefix = `${process.pid.toString(36)}-${Date.now().toString(36)}`;

export function nextId(): string {
  sequence = (sequence + 1) % Number.MAX_SAFE_INTEGER;
  return `${prefix}-${sequence.toString(36)}`;
}

export class Connection implements ConnectionContext {
  readonly id: string;
  readonly listener: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly acceptedAt: number;
  /** performance.now() at accept, for durations. */
  readonly acceptedMark: number;
  private readonly rootLog: Logger;
  private childLog: Logger | undefined;
  readonly socket: Socket;
  readonly tags: Record<string, TagValue> = {};
  tls: HandshakeInfo | undefined;
  private helloBytes: { raw: Buffer; arrival: HelloArrival } | undefined;
  /** null: the bytes were read but do not parse. */
  private helloInfo: HelloInfo | null | undefined;
  pool: string | undefined;
  requests = 0;
  outcome = 'ok';
  error: string | undefined;
  closed = false;
  private cutHandler: ((reason: string) => void) | undefined;
  /** Plugins' per-connection state (api.connectionState), keyed by the plugin's slot; made on first use. */
  private states: Map<object, unknown> | undefined;

  constructor(socket: Socket, listener: string, log: Logger) {
    this.id = nextId();
    this.socket = socket;
    this.listener = listener;
    this.remoteAddress = normalizeAddress(socket.remoteAddress);
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = normalizeAddress(socket.localAddress);
    this.localPort = socket.localPort ?? 0;
    this.acceptedAt = Date.now();
    this.acceptedMark = performance.now();
    this.rootLog = log;
  }

  // Made on first use: most connections never log, and a pino child costs time and memory
  // on every accept.
  get log(): Logger {
    return (this.childLog ??= this.rootLog.child({ conn: this.id }));
  }

  /** Keeps the hello's bytes; parsing waits until someone asks (see `hello`). */
  setHelloBytes(raw: Buffer, arrival: HelloArrival): void {
    this.helloBytes = { raw, arrival };
  }

  /** Parses the hello now; throws ClientHelloError when it is malformed. */
  parseHello(): HelloInfo {
    if (this.helloInfo) return this.helloInfo;
    const bytes = this.helloBytes;
    if (!bytes) throw new Error('no ClientHello was read on this connection');
    this.helloInfo = new LazyHelloInfo(parseClientHello(bytes.raw), bytes.arrival);
    return this.helloInfo;
  }

  // Parsed on first read: with no plugin looking at the hello, nothing pays for parsing it or
  // keeps its parsed form for the life of the connection.
  get hello(): HelloInfo | undefined {
    if (this.helloInfo === undefined && this.helloBytes) {
      try {
        this.parseHello();
      } catch {
        this.helloInfo = null;
      }
    }
    return this.helloInfo ?? undefined;
  }

  /** The state `slot` keeps on this connection, made by `init` on first use. */
  state<T>(slot: object, init: (conn: ConnectionContext) => T): T {
    const states = (this.states ??= new Map());
    let value = states.get(slot) as T | undefined;
    if (value === undefined) {
      value = init(this);
      states.set(slot, value);
    }
    return value;
  }

  tag(key: string, value: TagValue): void {
    this.tags[key] = value;
  }

  /** The socket that currently carries the connection (the TLS socket once it exists). */
  onCut(handler: (reason: string) => void): void {
    this.cutHandler = handler;
  }

  cut(reason: string): void {
    if (this.closed) return;
    this.outcome = 'cut';
    this.error = reason;
    this.log.info({ reason }, 'connection cut');
    if (this.cutHandler) this.cutHandler(reason);
    else this.socket.destroy();
  }
}

/** '::ffff:127.0.0.1' → '127.0.0.1', so rules and profiles key on one form of an IPv4 address. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
