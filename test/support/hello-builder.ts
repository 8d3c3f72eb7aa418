// Builds ClientHello bytes for tests: the handshake message from a plain description, the TLS
// records around it (optionally split into several), and the bodies of common extensions.
// Independent of proxy/clienthello so a test can check the parser against bytes it did not make.

export interface HelloExtension {
  type: number;
  data: Buffer;
}

export interface HelloSpec {
  helloVersion?: number;
  random?: Buffer;
  sessionId?: Buffer;
  ciphers: number[];
  compression?: number[];
  /** Omitted: no extensions block at all (as TLS 1.0 clients may send). */
  extensions?: HelloExtension[];
}

export interface RecordOptions {
  recordVersion?: number;
  /** Split the message into records of these sizes (the last one takes the rest). */
  fragments?: number[];
}

/** The ClientHello handshake message, 4-byte handshake header included. */
export function buildHandshake(spec: HelloSpec): Buffer {
  const parts = [
    u16(spec.helloVersion ?? 0x0303),
    spec.random ?? Buffer.alloc(32, 0x42),
    vec8(spec.sessionId ?? Buffer.alloc(32, 0x17)),
    vec16(Buffer.concat(spec.ciphers.map(u16))),
    vec8(Buffer.from(spec.compression ?? [0])),
  ];
  if (spec.extensions) parts.push(vec16(Buffer.concat(spec.extensions.map((e) => Buffer.concat([u16(e.type), vec16(e.data)])))));
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([0x01]), u24(body.length), body]);
}

/** Wraps a handshake message in TLS handshake records. */
export function frameRecords(message: Buffer, opts: RecordOptions = {}): Buffer {
  const version = opts.recordVersion ?? 0x0301;
  const out: Buffer[] = [];
  let off = 0;
  const sizes = [...(opts.fragments ?? [])];
  while (off < message.length) {
    const size = Math.min(sizes.shift() ?? message.length - off, message.length - off);
    out.push(Buffer.from([0x16]), u16(version), u16(size), message.subarray(off, off + size));
    off += size;
  }
  return Buffer.concat(out);
}

export function buildClientHello(spec: HelloSpec, opts: RecordOptions = {}): Buffer {
  return frameRecords(buildHandshake(spec), opts);
}

/** Extension bodies in wire format. */
export const ext = {
  serverName(host: string): HelloExtension {
    const name = Buffer.from(host, 'latin1');
    return { type: 0x0000, data: vec16(Buffer.concat([Buffer.from([0]), vec16(name)])) };
  },
  alpn(values: (string | Buffer)[]): HelloExtension {
    const names = values.map((v) => vec8(typeof v === 'string' ? Buffer.from(v, 'latin1') : v));
    return { type: 0x0010, data: vec16(Buffer.concat(names)) };
  },
  supportedVersions(versions: number[]): HelloExtension {
    return { type: 0x002b, data: vec8(Buffer.concat(versions.map(u16))) };
  },
  supportedGroups(groups: number[]): HelloExtension {
    return { type: 0x000a, data: vec16(Buffer.concat(groups.map(u16))) };
  },
  ecPointFormats(formats: number[]): HelloExtension {
    return { type: 0x000b, data: vec8(Buffer.from(formats)) };
  },
  signatureAlgorithms(algs: number[], type = 0x000d): HelloExtension {
    return { type, data: vec16(Buffer.concat(algs.map(u16))) };
  },
  keyShare(shares: { group: number; length: number }[]): HelloExtension {
    const entries = shares.map((s) => Buffer.concat([u16(s.group), vec16(Buffer.alloc(s.length, 0x33))]));
    return { type: 0x0033, data: vec16(Buffer.concat(entries)) };
  },
  pskKeyExchangeModes(modes: number[]): HelloExtension {
    return { type: 0x002d, data: vec8(Buffer.from(modes)) };
  },
  padding(length: number): HelloExtension {
    return { type: 0x0015, data: Buffer.alloc(length) };
  },
  raw(type: number, data: Buffer | number[] = []): HelloExtension {
    return { type, data: Buffer.from(data) };
  },
};

export function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

export function u24(v: number): Buffer {
  return Buffer.from([(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]);
}

export function vec8(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([data.length]), data]);
}

export function vec16(data: Buffer): Buffer {
  return Buffer.concat([u16(data.length), data]);
}
