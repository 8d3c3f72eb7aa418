// Reads a ClientHello off a freshly accepted TCP socket before any TLS code sees it, so routing
// and fingerprint plugins can decide first. The socket is then handed back exactly as it was:
// paused, no listeners of ours left, and every byte read returned in `hello.raw`, so the caller
// can `socket.unshift(hello.raw)` and emit 'connection' on a tls.Server to continue natively.
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ClientHelloError } from '../errors.ts';
import { parseClientHello } from './parse.ts';
import { frameClientHello } from './records.ts';
import type { ClientHello, HelloArrival } from './types.ts';

export interface ReadHelloOptions {
  /** Most bytes to buffer before giving up with TOO_LARGE. */
  maxBytes: number;
  /** Deadline, counted from `acceptedAt`, for the whole hello (TIMEOUT), against slow drips. */
  timeoutMs: number;
  /** performance.now() when the connection was accepted. */
  acceptedAt: number;
}

export interface ReadHelloResult {
  hello: ClientHello;
  arrival: HelloArrival;
}

export interface ReadHelloBytesResult {
  /** Every byte read, the whole hello and anything after it. */
  raw: Buffer;
  arrival: HelloArrival;
}

/** Reads and parses: the hello is refused here when it does not parse. */
export async function readClientHello(socket: Socket, opts: ReadHelloOptions): Promise<ReadHelloResult> {
  const { raw, arrival } = await readClientHelloBytes(socket, opts);
  return { hello: parseClientHello(raw), arrival };
}

/**
 * Reads until the record layer holds one whole hello, without parsing its body: the listener
 * only parses when a plugin will look (parsing every hello is a real share of a handshake).
 */
export function readClientHelloBytes(socket: Socket, opts: ReadHelloOptions): Promise<ReadHelloBytesResult> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    const readTimes: number[] = [];
    let settled = false;

    const finish = (outcome: { error: unknown } | { result: ReadHelloBytesResult }): void => {
      if (settled) return;
      settled = true;
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('close', onClose);
      socket.removeListener('error', onError);
      clearTimeout(timer);
      // 'data' listeners switch the socket to flowing mode; pausing keeps later bytes in the
      // kernel and the readable buffer for whoever takes the socket next.
      socket.pause();
      if ('error' in outcome) {
        if (outcome.error instanceof ClientHelloError) outcome.error.received = buffered;
        reject(outcome.error);
      } else resolve(outcome.result);
    };

    const onData = (chunk: Buffer): void => {
      readTimes.push(performance.now());
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      try {
        const framing = frameClientHello(buffered, opts.maxBytes);
        if (framing.state === 'need-more') return;
        finish({ result: { raw: buffered, arrival: arrival(readTimes, opts.acceptedAt, framing.records) } });
      } catch (error) {
        finish({ error });
      }
    };
    const onEnd = (): void => finish({ error: truncated(buffered.length, 'the client ended the connection') });
    const onClose = (): void => finish({ error: truncated(buffered.length, 'the connection closed') });
    const onError = (err: Error): void => finish({ error: truncated(buffered.length, `socket error: ${err.message}`) });

    if (socket.destroyed || socket.readableEnded) {
      reject(truncated(0, 'the connection was already closed'));
      return;
    }
    const left = opts.acceptedAt + opts.timeoutMs - performance.now();
    const timer = setTimeout(() => {
      finish({
        error: new ClientHelloError(
          'WEAVER_ERR_HELLO_TIMEOUT',
          `no complete ClientHello within ${opts.timeoutMs} ms of accept (${buffered.length} byte(s) in ${readTimes.length} read(s))`,
        ),
      });
    }, Math.max(0, left));
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onClose);
    socket.on('error', onError);
  });
}

function arrival(readTimes: number[], acceptedAt: number, records: number): HelloArrival {
  const gapsMs: number[] = [];
  for (let i = 1; i < readTimes.length; i++) gapsMs.push(readTimes[i]! - readTimes[i - 1]!);
  return {
    acceptToFirstByteMs: readTimes[0]! - acceptedAt,
    acceptToCompleteMs: readTimes[readTimes.length - 1]! - acceptedAt,
    reads: readTimes.length,
    gapsMs,
    records,
  };
}

function truncated(bytes: number, why: string): ClientHelloError {
  return new ClientHelloError('WEAVER_ERR_HELLO_TRUNCATED', `${why} after ${bytes} byte(s), before the ClientHello was complete`);
}
