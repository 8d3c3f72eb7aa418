// Rebuilds the first bytes each TCP connection's client sent, from captured segments that may
// arrive out of order, retransmitted or overlapping. Only the opening of each stream matters for
// a ClientHello, so each direction stops at the first gap or at `maxBytes`.
import type { TcpSegment } from './pcap.ts';

const SYN = 0x02;
const ACK = 0x10;

export interface ClientStream {
  /** "client:port > server:port" */
  flow: string;
  /** Contiguous bytes from the start of the stream (or of the capture, if the SYN was missed). */
  bytes: Buffer;
}

interface Direction {
  flow: string;
  firstSeen: number;
  /** Initial sequence number + 1, when the SYN was captured. */
  start: number | undefined;
  /** The client is the side that sent a SYN without ACK. */
  openedConnection: boolean;
  segments: { seq: number; payload: Buffer }[];
}

/**
 * The opening bytes of every direction that looks like a TLS client: it begins with a handshake
 * record carrying a ClientHello (server directions begin with a ServerHello), or it opened the
 * connection and its first byte is a handshake record.
 */
export function clientStreams(segments: Iterable<TcpSegment>, maxBytes = 65536): ClientStream[] {
  const directions = new Map<string, Direction>();
  let order = 0;
  for (const s of segments) {
    const flow = `${s.src}:${s.srcPort} > ${s.dst}:${s.dstPort}`;
    let d = directions.get(flow);
    if (!d) {
      d = { flow, firstSeen: order++, start: undefined, openedConnection: false, segments: [] };
      directions.set(flow, d);
    }
    if (s.flags & SYN && d.start === undefined) {
      d.start = (s.seq + 1) >>> 0;
      d.openedConnection = (s.flags & ACK) === 0;
    }
    if (s.payload.length > 0) d.segments.push({ seq: s.seq, payload: s.payload });
  }

  const out: ClientStream[] = [];
  for (const d of [...directions.values()].sort((a, b) => a.firstSeen - b.firstSeen)) {
    if (d.segments.length === 0) continue;
    const bytes = assemble(d, maxBytes);
    if (looksLikeClientHello(bytes, d.openedConnection)) out.push({ flow: d.flow, bytes });
  }
  return out;
}

function assemble(d: Direction, maxBytes: number): Buffer {
  const reference = d.start ?? d.segments[0]!.seq;
  // Sequence numbers wrap at 2^32: offsets are taken relative to the start, as signed 32-bit.
  const placed = d.segments
    .map((s) => ({ at: ((s.seq - reference) | 0), payload: s.payload }))
    .sort((a, b) => a.at - b.at);
  let cursor = d.start === undefined ? Math.min(...placed.map((p) => p.at)) : 0;
  const origin = cursor;
  const parts: Buffer[] = [];
  for (const p of placed) {
    if (cursor - origin >= maxBytes) break;
    if (p.at > cursor) break; // a gap: nothing after it can be trusted to follow on
    const end = p.at + p.payload.length;
    if (end <= cursor) continue; // a retransmission of bytes already placed
    parts.push(p.payload.subarray(cursor - p.at));
    cursor = end;
  }
  const bytes = Buffer.concat(parts);
  return bytes.length > maxBytes ? bytes.subarray(0, maxBytes) : bytes;
}

function looksLikeClientHello(bytes: Buffer, openedConnection: boolean): boolean {
  if (bytes.length === 0 || bytes[0] !== 0x16) return false;
  if (bytes.length >= 6) return bytes[5] === 0x01;
  return openedConnection;
}
