// Passive outlier detection: live traffic, not probes, takes a failing server out of rotation.
// Like Envoy's: N failures in a row eject a server for baseEjectionMs × (its ejection count),
// capped at maxEjectionMs, and never more than maxEjectedPercent of the pool at once, so a
// pool-wide failure (a bad deploy, a dependency down) cannot eject every server and turn errors
// into 503s for everyone. The count decays: one per baseEjectionMs the server then spends back
// in rotation, so a server that flapped once long ago is not punished like a chronic one.
import type { OutlierDetectionConfig } from '../config/schema.ts';
import type { UpstreamServer } from './server.ts';

/** What one exchange said about its server. 'error': a 5xx answer, a reset or a response timeout. */
export type PassiveOutcome = 'ok' | 'error' | 'connect-failure';

export interface OutlierEvents {
  ejected(server: UpstreamServer, ms: number, ejections: number, reason: string): void;
  /** The ejection time is over; the pool decides whether the server is back in rotation. */
  released(server: UpstreamServer): void;
}

interface ServerRecord {
  errors: number;
  connectFailures: number;
  ejections: number;
  /** Epoch ms the last ejection ended; 0 before the first and during one. */
  releasedAt: number;
  timer: NodeJS.Timeout | undefined;
}

export class OutlierDetector {
  private readonly config: OutlierDetectionConfig;
  private readonly servers: readonly UpstreamServer[];
  private readonly events: OutlierEvents;
  private readonly now: () => number;
  private readonly records = new Map<UpstreamServer, ServerRecord>();
  private closed = false;

  constructor(servers: readonly UpstreamServer[], config: OutlierDetectionConfig, events: OutlierEvents, now: () => number = Date.now) {
    this.servers = servers;
    this.config = config;
    this.events = events;
    this.now = now;
    for (const s of servers) this.records.set(s, { errors: 0, connectFailures: 0, ejections: 0, releasedAt: 0, timer: undefined });
  }

  report(server: UpstreamServer, outcome: PassiveOutcome): void {
    const r = this.records.get(server);
    if (!r || this.closed) return;
    const { consecutive5xx, consecutiveConnectFailures } = this.config;
    if (outcome === 'ok') {
      r.errors = 0;
      r.connectFailures = 0;
    } else if (outcome === 'error') {
      // It answered (or at least connected): its connection problems, if any, are over.
      r.connectFailures = 0;
      r.errors++;
      if (consecutive5xx > 0 && r.errors >= consecutive5xx) this.eject(server, r, `${r.errors} failed responses in a row`);
    } else {
      r.connectFailures++;
      if (consecutiveConnectFailures > 0 && r.connectFailures >= consecutiveConnectFailures) {
        this.eject(server, r, `${r.connectFailures} connect failures in a row`);
      }
    }
  }

  /** Ejection count of a server, after decay: what its next ejection would be multiplied by, minus one. */
  ejections(server: UpstreamServer): number {
    const r = this.records.get(server);
    return r ? this.decayed(r) : 0;
  }

  /** Stops every ejection timer; ejected servers stay ejected (the pool is going away). */
  close(): void {
    this.closed = true;
    for (const r of this.records.values()) {
      clearTimeout(r.timer);
      r.timer = undefined;
    }
  }

  private eject(server: UpstreamServer, r: ServerRecord, reason: string): void {
    // Still finishing requests sent before its ejection: they change nothing.
    if (server.ejectedUntil !== 0) return;
    const { baseEjectionMs, maxEjectionMs, maxEjectedPercent } = this.config;
    let ejected = 0;
    for (const s of this.servers) if (s.ejectedUntil !== 0) ejected++;
    // At the cap the failures keep counting, so the server goes as soon as there is room.
    if (ejected + 1 > Math.floor((this.servers.length * maxEjectedPercent) / 100)) return;
    const ms = Math.min(baseEjectionMs * (this.decayed(r) + 1), maxEjectionMs);
    if (ms <= 0) return;
    r.ejections = this.decayed(r) + 1;
    r.releasedAt = 0;
    r.errors = 0;
    r.connectFailures = 0;
    server.ejectedUntil = this.now() + ms;
    r.timer = setTimeout(() => this.release(server, r), ms);
    r.timer.unref();
    this.events.ejected(server, ms, r.ejections, reason);
  }

  private release(server: UpstreamServer, r: ServerRecord): void {
    r.timer = undefined;
    r.releasedAt = this.now();
    server.ejectedUntil = 0;
    this.events.released(server);
  }

  private decayed(r: ServerRecord): number {
    const base = this.config.baseEjectionMs;
    if (r.ejections === 0 || r.releasedAt === 0 || base <= 0) return r.ejections;
    return Math.max(0, r.ejections - Math.floor((this.now() - r.releasedAt) / base));
  }
}
