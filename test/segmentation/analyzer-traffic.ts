// Synthetic but realistic flow records for the analyzer tests: office clients that browse a few
// internal HTTPS services (a handful of connections each, mostly 2xx), and the attacks the
// analyzer must catch. Seeded, so every run sees the same traffic.
import type { FlowRecord } from '../../plugins/segmentation/analyzer/flow.ts';
import { seededRandom } from 'weaver';

export const T0 = Date.parse('2026-11-21T09:00:00Z');
const SERVICES = ['intranet.corp.example', 'mail.corp.example', 'git.corp.example', 'wiki.corp.example', 'api.corp.example'];

export function trafficRandom(seed: number): () => number {
  return seededRandom(seed);
}

/** One ordinary HTTPS flow from `source` ending at `at`. */
export function normalFlow(source: string, at: number, rnd: () => number, segment = 'office'): FlowRecord {
  const sni = SERVICES[Math.floor(rnd() * (1 + rnd() * 2.5))]!; // most traffic to the first two or three
  const requests = 1 + Math.floor(rnd() ** 2 * 30);
  const s4xx = rnd() < 0.1 ? 1 : 0;
  const s3xx = rnd() < 0.2 ? Math.min(requests - s4xx, 1) : 0;
  return {
    source, segment, destination: sni, port: 443, sni, ja4: 't13d1516h2_8daaf6152771_02713d6af862',
    endedAt: at, durationMs: Math.round(200 + rnd() * 60_000), bytesIn: Math.round(600 + requests * (300 + rnd() * 900)),
    bytesOut: Math.round(5_000 + requests * rnd() * 80_000), requests,
    statuses: { s2xx: requests - s4xx - s3xx, s3xx, s4xx }, errors: rnd() < 0.01 ? 1 : 0, handshake: 'ok',
  };
}

/** `clients` office clients, each with a connection every few seconds, for `seconds`. In time order. */
export function office(clients: number, seconds: number, seed = 1, from = T0): FlowRecord[] {
  const rnd = seededRandom(seed);
  const flows: FlowRecord[] = [];
  for (let c = 0; c < clients; c++) {
    const source = `10.20.${c >> 8}.${c & 255}`;
    for (let t = rnd() * 5_000; t < seconds * 1000; t += 1_000 + rnd() * 8_000) flows.push(normalFlow(source, from + Math.round(t), rnd));
  }
  return flows.sort((a, b) => a.endedAt - b.endedAt);
}

/** A TCP connect scan: one connection to each of `targets` addresses × `ports`, nothing sent. */
export function scan(source: string, targets: number, ports: number[], from: number, spacingMs = 20): FlowRecord[] {
  const flows: FlowRecord[] = [];
  for (let i = 0; i < targets; i++) {
    for (const port of ports) {
      flows.push({
        source, segment: 'office', destination: `198.18.${10 + (i >> 8)}.${i & 255}`, port, endedAt: from + flows.length * spacingMs,
        durationMs: 3, bytesIn: 0, bytesOut: 0, requests: 0, errors: 1, handshake: 'none',
      });
    }
  }
  return flows;
}

/** A burst of failed handshakes (a TLS brute-forcer or a broken bot) against one service. */
export function handshakeBurst(source: string, count: number, from: number, spacingMs = 100): FlowRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    source, segment: 'office', destination: 'api.corp.example', port: 443, sni: 'api.corp.example', ja4: 't12d190900_d83cc789557e_7af1ed941c26',
    endedAt: from + i * spacingMs, durationMs: 40, bytesIn: 517, bytesOut: 7, requests: 0, errors: 1, handshake: 'failed' as const,
  }));
}
