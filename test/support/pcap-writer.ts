// Writes small packet captures (libpcap or pcapng) of TCP conversations for tests of
// `weaver fingerprint --pcap`, with the segment splitting, reordering and retransmission that
// real captures have. Checksums are left zero: readers of captures do not verify them.
import type { TcpSegment } from '../../proxy/clienthello/pcap.ts';

/** A segment as the reader returns it, so tests can compare what they wrote with what it read. */
export type TcpPacket = TcpSegment;

export type LinkType = 'ethernet' | 'sll' | 'sll2' | 'raw' | 'null';

const LINK_CODES: Record<LinkType, number> = { null: 0, ethernet: 1, raw: 101, sll: 113, sll2: 276 };
export const SYN = 0x02;
export const ACK = 0x10;
export const PSH = 0x08;

export interface Conversation {
  client: string;
  server: string;
  clientPort: number;
  serverPort: number;
  clientBytes: Buffer;
  serverBytes?: Buffer;
  /** Largest payload per segment. */
  mss?: number;
  clientIsn?: number;
  /** Send the client's data segments in reverse order. */
  reverse?: boolean;
  /** Send every client data segment twice. */
  retransmit?: boolean;
  /** Leave out the handshake packets, as a capture started mid-connection would. */
  skipSyn?: boolean;
}

/** The packets of one TCP connection: handshake, client data, then server data. */
export function conversation(c: Conversation): TcpPacket[] {
  const mss = c.mss ?? 1460;
  const cIsn = c.clientIsn ?? 1000;
  const sIsn = 5000;
  const up = { src: c.client, dst: c.server, srcPort: c.clientPort, dstPort: c.serverPort };
  const down = { src: c.server, dst: c.client, srcPort: c.serverPort, dstPort: c.clientPort };
  const out: TcpPacket[] = [];
  if (!c.skipSyn) {
    out.push({ ...up, seq: cIsn, flags: SYN, payload: Buffer.alloc(0) });
    out.push({ ...down, seq: sIsn, flags: SYN | ACK, payload: Buffer.alloc(0) });
    out.push({ ...up, seq: (cIsn + 1) >>> 0, flags: ACK, payload: Buffer.alloc(0) });
  }
  const data: TcpPacket[] = [];
  for (let off = 0; off < c.clientBytes.length; off += mss) {
    const p = { ...up, seq: (cIsn + 1 + off) >>> 0, flags: ACK | PSH, payload: c.clientBytes.subarray(off, off + mss) };
    data.push(p);
    if (c.retransmit) data.push(p);
  }
  if (c.reverse) data.reverse();
  out.push(...data);
  if (c.serverBytes) out.push({ ...down, seq: sIsn + 1, flags: ACK | PSH, payload: c.serverBytes });
  return out;
}

export function writePcap(packets: TcpPacket[], link: LinkType, opts: { bigEndian?: boolean } = {}): Buffer {
  const le = !opts.bigEndian;
  const header = Buffer.alloc(24);
  const w32 = (b: Buffer, v: number, at: number): number => (le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  const w16 = (b: Buffer, v: number, at: number): number => (le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  w32(header, 0xa1b2c3d4, 0);
  w16(header, 2, 4);
  w16(header, 4, 6);
  w32(header, 65535, 16);
  w32(header, LINK_CODES[link], 20);
  const records = packets.map((p, i) => {
    const frame = linkFrame(p, link, le);
    const rec = Buffer.alloc(16);
    w32(rec, 1700000000 + i, 0);
    w32(rec, frame.length, 8);
    w32(rec, frame.length, 12);
    return Buffer.concat([rec, frame]);
  });
  return Buffer.concat([header, ...records]);
}

export function writePcapng(packets: TcpPacket[], link: LinkType): Buffer {
  const shbBody = Buffer.alloc(16);
  shbBody.writeUInt32LE(0x1a2b3c4d, 0);
  shbBody.writeUInt16LE(1, 4);
  shbBody.writeBigInt64LE(-1n, 8);
  const idbBody = Buffer.alloc(8);
  idbBody.writeUInt16LE(LINK_CODES[link], 0);
  idbBody.writeUInt32LE(65535, 4);
  const blocks = [block(0x0a0d0d0a, shbBody), block(1, idbBody)];
  for (const p of packets) {
    const frame = linkFrame(p, link, true);
    const epb = Buffer.alloc(20);
    epb.writeUInt32LE(0, 0);
    epb.writeUInt32LE(frame.length, 12);
    epb.writeUInt32LE(frame.length, 16);
    blocks.push(block(6, Buffer.concat([epb, frame, Buffer.alloc((4 - (frame.length % 4)) % 4)])));
  }
  return Buffer.concat(blocks);
}

function block(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  const total = body.length + 12;
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(total, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(total, 0);
  return Buffer.concat([head, body, tail]);
}

function linkFrame(p: TcpPacket, link: LinkType, le: boolean): Buffer {
  const v6 = p.src.includes(':');
  const ip = v6 ? ipv6Packet(p) : ipv4Packet(p);
  const etherType = v6 ? 0x86dd : 0x0800;
  switch (link) {
    case 'raw':
      return ip;
    case 'null': {
      const family = Buffer.alloc(4);
      if (le) family.writeUInt32LE(v6 ? 30 : 2);
      else family.writeUInt32BE(v6 ? 30 : 2);
      return Buffer.concat([family, ip]);
    }
    case 'ethernet': {
      // One 802.1Q tag, as captures on trunk ports have.
      const eth = Buffer.alloc(18);
      eth.writeUInt16BE(0x8100, 12);
      eth.writeUInt16BE(7, 14);
      eth.writeUInt16BE(etherType, 16);
      return Buffer.concat([eth, ip]);
    }
    case 'sll': {
      const sll = Buffer.alloc(16);
      sll.writeUInt16BE(etherType, 14);
      return Buffer.concat([sll, ip]);
    }
    case 'sll2': {
      const sll2 = Buffer.alloc(20);
      sll2.writeUInt16BE(etherType, 0);
      return Buffer.concat([sll2, ip]);
    }
  }
}

function tcpSegment(p: TcpPacket): Buffer {
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(p.srcPort, 0);
  tcp.writeUInt16BE(p.dstPort, 2);
  tcp.writeUInt32BE(p.seq >>> 0, 4);
  tcp[12] = 5 << 4;
  tcp[13] = p.flags;
  tcp.writeUInt16BE(65535, 14);
  return Buffer.concat([tcp, p.payload]);
}

function ipv4Packet(p: TcpPacket): Buffer {
  const tcp = tcpSegment(p);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + tcp.length, 2);
  ip.writeUInt16BE(0x4000, 6); // don't fragment
  ip[8] = 64;
  ip[9] = 6;
  Buffer.from(p.src.split('.').map(Number)).copy(ip, 12);
  Buffer.from(p.dst.split('.').map(Number)).copy(ip, 16);
  return Buffer.concat([ip, tcp]);
}

function ipv6Packet(p: TcpPacket): Buffer {
  const tcp = tcpSegment(p);
  // A destination-options header in front of TCP, so readers must walk extension headers.
  const destOpts = Buffer.from([6, 0, 1, 4, 0, 0, 0, 0]);
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(destOpts.length + tcp.length, 4);
  ip[6] = 60;
  ip[7] = 64;
  ipv6Bytes(p.src).copy(ip, 8);
  ipv6Bytes(p.dst).copy(ip, 24);
  return Buffer.concat([ip, destOpts, tcp]);
}

function ipv6Bytes(text: string): Buffer {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}
