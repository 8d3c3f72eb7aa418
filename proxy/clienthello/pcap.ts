// Pulls TCP segments out of a packet capture (classic libpcap or pcapng; Ethernet, Linux cooked
// v1/v2, BSD loopback or raw IPv4/IPv6) so `weaver fingerprint --pcap` can rebuild each
// connection's client bytes. Only what ClientHello extraction needs: no IP reassembly, no
// timestamps. A file that is not a capture, or is cut short, throws a plain Error.

export interface TcpSegment {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  /** TCP flag bits (0x02 SYN, 0x10 ACK, …). */
  flags: number;
  payload: Buffer;
}

const PCAP_MAGICS = new Set([0xa1b2c3d4, 0xa1b23c4d]);
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;

/** Every TCP segment of the capture, in file order. */
export function* pcapSegments(file: Buffer): Generator<TcpSegment> {
  for (const { linkType, data } of captureFrames(file)) {
    const segment = decodeFrame(linkType, data);
    if (segment) yield segment;
  }
}

interface Frame {
  linkType: number;
  data: Buffer;
}

function captureFrames(file: Buffer): Generator<Frame> {
  if (file.length < 4) throw new Error('not a packet capture: file is shorter than 4 bytes');
  if (file.readUInt32BE(0) === PCAPNG_SHB) return pcapngFrames(file);
  if (PCAP_MAGICS.has(file.readUInt32BE(0))) return pcapFrames(file, false);
  if (PCAP_MAGICS.has(file.readUInt32LE(0))) return pcapFrames(file, true);
  throw new Error(`not a packet capture: unknown magic 0x${file.readUInt32BE(0).toString(16)}`);
}

function* pcapFrames(file: Buffer, le: boolean): Generator<Frame> {
  if (file.length < 24) throw new Error('pcap: global header is cut short');
  const u32 = (at: number): number => (le ? file.readUInt32LE(at) : file.readUInt32BE(at));
  const linkType = u32(20) & 0x0fffffff; // the top bits carry FCS information
  let off = 24;
  while (off < file.length) {
    if (off + 16 > file.length) throw new Error(`pcap: record header at offset ${off} is cut short`);
    const captured = u32(off + 8);
    const start = off + 16;
    if (start + captured > file.length) throw new Error(`pcap: record at offset ${off} claims ${captured} bytes past the end of the file`);
    yield { linkType, data: file.subarray(start, start + captured) };
    off = start + captured;
  }
}

function* pcapngFrames(file: Buffer): Generator<Frame> {
  let le = true;
  let linkTypes: number[] = [];
  let off = 0;
  while (off < file.length) {
    if (off + 12 > file.length) throw new Error(`pcapng: block at offset ${off} is cut short`);
    const type = file.readUInt32BE(off);
    if (type === PCAPNG_SHB) {
      // Each section states its own byte order and starts a new list of interfaces.
      const magic = file.readUInt32LE(off + 8);
      if (magic === PCAPNG_BYTE_ORDER) le = true;
      else if (file.readUInt32BE(off + 8) === PCAPNG_BYTE_ORDER) le = false;
      else throw new Error(`pcapng: bad byte-order magic at offset ${off + 8}`);
      linkTypes = [];
    }
    const u32 = (at: number): number => (le ? file.readUInt32LE(at) : file.readUInt32BE(at));
    const u16 = (at: number): number => (le ? file.readUInt16LE(at) : file.readUInt16BE(at));
    const blockType = u32(off);
    const length = u32(off + 4);
    if (length < 12 || length % 4 !== 0 || off + length > file.length) {
      throw new Error(`pcapng: block at offset ${off} has bad length ${length}`);
    }
    const body = file.subarray(off + 8, off + length - 4);
    if (blockType === 1 && body.length >= 2) linkTypes.push(u16(off + 8));
    else if (blockType === 6 && body.length >= 20) {
      const linkType = linkTypes[u32(off + 8)];
      const captured = u32(off + 20);
      if (linkType !== undefined && 20 + captured <= body.length) yield { linkType, data: body.subarray(20, 20 + captured) };
    } else if (blockType === 3 && body.length >= 4 && linkTypes[0] !== undefined) {
      const original = u32(off + 8);
      yield { linkType: linkTypes[0], data: body.subarray(4, 4 + Math.min(original, body.length - 4)) };
    }
    off += length;
  }
}

function decodeFrame(linkType: number, data: Buffer): TcpSegment | undefined {
  switch (linkType) {
    case 0: // BSD loopback: a 4-byte address family in the writer's byte order
      return decodeIp(data.subarray(4));
    case 1:
      return decodeEthernet(data);
    case 12:
    case 14:
    case 101: // raw IP, version from the first nibble
    case 228:
    case 229:
      return decodeIp(data);
    case 113: // Linux cooked v1: protocol at 14, 16-byte header
      return data.length >= 16 ? decodeEtherType(data.readUInt16BE(14), data.subarray(16)) : undefined;
    case 276: // Linux cooked v2: protocol at 0, 20-byte header
      return data.length >= 20 ? decodeEtherType(data.readUInt16BE(0), data.subarray(20)) : undefined;
    default:
      return undefined;
  }
}

function decodeEthernet(data: Buffer): TcpSegment | undefined {
  let off = 12;
  if (data.length < off + 2) return undefined;
  let etherType = data.readUInt16BE(off);
  // 802.1Q / 802.1ad tags, possibly stacked
  while ((etherType === 0x8100 || etherType === 0x88a8) && data.length >= off + 6) {
    off += 4;
    etherType = data.readUInt16BE(off);
  }
  return decodeEtherType(etherType, data.subarray(off + 2));
}

function decodeEtherType(etherType: number, data: Buffer): TcpSegment | undefined {
  if (etherType === 0x0800) return decodeIpv4(data);
  if (etherType === 0x86dd) return decodeIpv6(data);
  return undefined;
}

function decodeIp(data: Buffer): TcpSegment | undefined {
  if (data.length < 1) return undefined;
  const version = data[0]! >> 4;
  if (version === 4) return decodeIpv4(data);
  if (version === 6) return decodeIpv6(data);
  return undefined;
}

function decodeIpv4(data: Buffer): TcpSegment | undefined {
  if (data.length < 20 || data[0]! >> 4 !== 4) return undefined;
  const headerLength = (data[0]! & 0x0f) * 4;
  const total = data.readUInt16BE(2);
  const fragment = data.readUInt16BE(6);
  // Fragments would need IP reassembly; a ClientHello over fragmented IP is not worth it.
  if (data[9] !== 6 || (fragment & 0x3fff) !== 0 || headerLength < 20) return undefined;
  // A zero total length comes from TCP segmentation offload; trust the captured length then.
  const end = total === 0 ? data.length : Math.min(total, data.length);
  const src = [...data.subarray(12, 16)].join('.');
  const dst = [...data.subarray(16, 20)].join('.');
  return decodeTcp(src, dst, data.subarray(headerLength, end));
}

const IPV6_SKIPPABLE = new Set([0, 43, 60]); // hop-by-hop, routing, destination options

function decodeIpv6(data: Buffer): TcpSegment | undefined {
  if (data.length < 40 || data[0]! >> 4 !== 6) return undefined;
  const end = Math.min(40 + data.readUInt16BE(4), data.length);
  let next = data[6]!;
  let off = 40;
  while (IPV6_SKIPPABLE.has(next) || next === 51) {
    if (off + 2 > end) return undefined;
    const length = next === 51 ? (data[off + 1]! + 2) * 4 : (data[off + 1]! + 1) * 8;
    next = data[off]!;
    off += length;
  }
  if (next !== 6 || off > end) return undefined;
  return decodeTcp(ipv6Text(data.subarray(8, 24)), ipv6Text(data.subarray(24, 40)), data.subarray(off, end));
}

function decodeTcp(src: string, dst: string, data: Buffer): TcpSegment | undefined {
  if (data.length < 20) return undefined;
  const headerLength = (data[12]! >> 4) * 4;
  if (headerLength < 20 || headerLength > data.length) return undefined;
  return {
    src,
    dst,
    srcPort: data.readUInt16BE(0),
    dstPort: data.readUInt16BE(2),
    seq: data.readUInt32BE(4),
    flags: data[13]!,
    payload: data.subarray(headerLength),
  };
}

function ipv6Text(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return `[${groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}]`;
}
