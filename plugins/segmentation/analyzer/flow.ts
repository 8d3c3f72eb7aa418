// One connection as the analyzer sees it once it has closed.
import type { CloseSummary, ConnectionContext } from 'weaver';

export interface StatusMix {
  s2xx?: number;
  s3xx?: number;
  s4xx?: number;
  s5xx?: number;
}

export interface FlowRecord {
  /** Client address. */
  source: string;
  /** The source's segment, set by the engine; 'default' when absent. */
  segment?: string;
  /** What the client reached: SNI or Host, else the local address. */
  destination: string;
  /** Local (destination) port. */
  port: number;
  sni?: string;
  ja4?: string;
  /** Epoch ms; the per-source windows run on this clock, so replayed records work too. */
  endedAt: number;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  requests: number;
  statuses?: StatusMix;
  /** Errors on the connection (1 when it closed with an error; upstream errors may add). */
  errors: number;
  /** 'failed': the ClientHello or the handshake failed or timed out; 'none': closed before either. */
  handshake: 'ok' | 'failed' | 'none';
}

/** Counts one response status into `mix` (from onResponse). */
export function countStatus(mix: StatusMix, status: number): void {
  const key = status >= 500 ? 's5xx' : status >= 400 ? 's4xx' : status >= 300 ? 's3xx' : status >= 200 ? 's2xx' : undefined;
  if (key) mix[key] = (mix[key] ?? 0) + 1;
}

const FAILED_OUTCOMES = new Set(['hello_error', 'handshake_error', 'timeout']);

/** A FlowRecord from onClose's arguments, plus what the engine counted in onResponse. */
export function flowFromClose(
  conn: ConnectionContext,
  summary: CloseSummary,
  extra: { segment?: string; statuses?: StatusMix; now?: number } = {},
): FlowRecord {
  const sni = conn.hello?.sni ?? conn.tls?.servername;
  return {
    source: conn.remoteAddress,
    ...(extra.segment !== undefined ? { segment: extra.segment } : {}),
    destination: sni ?? conn.localAddress,
    port: conn.localPort,
    ...(sni !== undefined ? { sni } : {}),
    ...(conn.hello?.ja4 ? { ja4: conn.hello.ja4 } : {}),
    endedAt: extra.now ?? Date.now(),
    durationMs: summary.durationMs,
    bytesIn: summary.bytesIn,
    bytesOut: summary.bytesOut,
    requests: summary.requests,
    ...(extra.statuses ? { statuses: extra.statuses } : {}),
    errors: summary.error !== undefined ? 1 : 0,
    handshake: conn.tls ? 'ok' : FAILED_OUTCOMES.has(summary.outcome) ? 'failed' : 'none',
  };
}
