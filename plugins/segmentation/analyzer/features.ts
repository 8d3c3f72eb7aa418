// A flow and its source's window as numbers, for the baseline forest and the supervised model.
// Counts and sizes are log-scaled (a 1 MB transfer is not 1000 times stranger than 1 kB);
// shares and flags stay in 0..1.
import type { FlowRecord } from './flow.ts';
import type { SourceWindowStats } from './windows.ts';

export const FLOW_FEATURES = [
  'log_duration_ms', 'log_bytes_in', 'log_bytes_out', 'log_requests', 'error', 'handshake_failed', 'handshake_none', 'has_sni',
  'share_4xx', 'share_5xx', 'log_window_connections', 'log_window_destinations', 'log_window_ports', 'log_window_snis',
  'window_error_rate', 'window_failed_handshake_rate',
] as const;

export function flowFeatures(flow: FlowRecord, w: SourceWindowStats): Float64Array {
  const s = flow.statuses ?? {};
  const answered = (s.s2xx ?? 0) + (s.s3xx ?? 0) + (s.s4xx ?? 0) + (s.s5xx ?? 0);
  const share = (n: number | undefined): number => (answered === 0 ? 0 : (n ?? 0) / answered);
  const log = (n: number): number => Math.log1p(Math.max(0, n));
  return Float64Array.of(
    log(flow.durationMs), log(flow.bytesIn), log(flow.bytesOut), log(flow.requests),
    flow.errors > 0 ? 1 : 0, flow.handshake === 'failed' ? 1 : 0, flow.handshake === 'none' ? 1 : 0, flow.sni ? 1 : 0,
    share(s.s4xx), share(s.s5xx),
    log(w.connections), log(w.distinctDestinations), log(w.distinctPorts), log(w.distinctSnis),
    w.errorRate, w.failedHandshakeRate,
  );
}
