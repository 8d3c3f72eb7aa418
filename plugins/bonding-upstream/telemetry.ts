// Prometheus metrics per channel and per session (weaver_bonding_upstream_*). A channel's state
// and the stalled and refused counts are set where they change, so a scrape agrees with the
// admin API; the measurements (RTT, jitter, loss, rate), byte counters and session gauges are
// sampled once a second, counters advancing by what changed since.
import type { PluginMetrics } from 'weaver';
import type { Path, PathState } from './path.ts';
import type { Session } from './session.ts';

export type Role = 'edge' | 'endpoint';
export type Telemetry = ReturnType<typeof createTelemetry>;

const STATE_VALUE: Record<PathState, number> = { up: 2, degraded: 1, down: 0, connecting: 0 };

export function createTelemetry(metrics: PluginMetrics) {
  const ch = ['role', 'session', 'channel'] as const;
  const g = (name: string, help: string) => metrics.gauge({ name, help, labelNames: ch });
  const c = (name: string, help: string) => metrics.counter({ name, help, labelNames: ch });
  const state = g('channel_state', '2 up, 1 degraded, 0 down or connecting');
  const rtt = g('channel_rtt_seconds', 'smoothed probe round-trip time');
  const jitter = g('channel_jitter_seconds', 'mean difference between consecutive RTT samples');
  const loss = g('channel_loss_ratio', 'share of the last 20 probes unanswered');
  const rate = g('channel_delivery_rate_bytes', 'bytes per second the channel delivers (from acks)');
  const sent = c('channel_sent_bytes_total', 'bytes of frames sent, resends included');
  const received = c('channel_received_bytes_total', 'bytes of frames received');
  const resent = c('channel_retransmitted_bytes_total', 'bytes of frames sent again');
  const reconnects = c('channel_reconnects_total', 'times the channel was lost and redialed');
  const streams = metrics.gauge({ name: 'session_streams', help: 'open streams', labelNames: ['role', 'session'] as const });
  const buffered = metrics.gauge({ name: 'session_buffered_bytes', help: 'stream bytes held by the session (queued, unacked, unread)', labelNames: ['role', 'session'] as const });
  const stalled = metrics.counter({ name: 'streams_stalled_total', help: 'streams reset for making no progress (stallTimeoutMs)', labelNames: ['role', 'session'] as const });
  const refused = metrics.counter({ name: 'streams_refused_total', help: 'streams and channels refused, by reason', labelNames: ['session', 'reason'] as const });
  const last = new WeakMap<Path, { sent: number; received: number; resent: number; reconnects: number }>();

  return {
    refused(session: string, reason: string): void {
      refused.inc({ session, reason });
    },
    stalled(role: Role, session: string): void {
      stalled.inc({ role, session });
    },
    /** channel_state follows `path` from now on. */
    watch(role: Role, session: string, path: Path): void {
      const l = { role, session, channel: path.name };
      path.onState = (p) => state.set(l, STATE_VALUE[p.state]);
      path.onState(path);
    },
    update(role: Role, name: string, session: Session): void {
      streams.set({ role, session: name }, session.streams.size);
      buffered.set({ role, session: name }, session.bufferedBytes);
      for (const p of session.paths) {
        const l = { role, session: name, channel: p.name };
        rtt.set(l, p.srtt / 1000);
        jitter.set(l, p.jitter / 1000);
        loss.set(l, p.loss);
        rate.set(l, p.rate);
        const before = last.get(p) ?? { sent: 0, received: 0, resent: 0, reconnects: 0 };
        sent.inc(l, p.sentBytes - before.sent);
        received.inc(l, p.receivedBytes - before.received);
        resent.inc(l, p.retransmittedBytes - before.resent);
        reconnects.inc(l, p.reconnects - before.reconnects);
        last.set(p, { sent: p.sentBytes, received: p.receivedBytes, resent: p.retransmittedBytes, reconnects: p.reconnects });
      }
    },
  };
}
