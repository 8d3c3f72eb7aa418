// The parsed ClientHello as the core hands it to plugins. Raw code points are kept as numbers
// (GREASE included, in wire order) so any fingerprint can be derived from them.

export interface ClientHelloExtension {
  type: number;
  /** The extension body, without the 4-byte type/length header. */
  data: Buffer;
}

export interface KeyShareEntry {
  group: number;
  length: number;
}

export interface HelloArrival {
  /** ms from TCP accept to the first byte of the hello. */
  acceptToFirstByteMs: number;
  /** ms from TCP accept to the last byte of the hello. */
  acceptToCompleteMs: number;
  /** How many socket reads the hello took. */
  reads: number;
  /** ms between consecutive reads (reads - 1 entries). */
  gapsMs: number[];
  /** How many TLS records the hello was split across. */
  records: number;
}

export interface ClientHello {
  /** 'tcp' for TLS over TCP, 'quic' for a QUIC Initial. */
  transport: 'tcp' | 'quic';
  /** Legacy version in the first record header (e.g. 0x0301). */
  recordVersion: number;
  /** legacy_version in the hello body (e.g. 0x0303). */
  helloVersion: number;
  random: Buffer;
  sessionId: Buffer;
  /** Cipher suites in wire order, GREASE included. */
  ciphers: number[];
  compressionMethods: number[];
  /** Extensions in wire order, GREASE included. */
  extensions: ClientHelloExtension[];
  extensionTypes: number[];
  /** Values of the named extensions, in wire order, GREASE included; empty when absent. */
  supportedVersions: number[];
  supportedGroups: number[];
  ecPointFormats: number[];
  signatureAlgorithms: number[];
  alpn: string[];
  /** server_name host_name, or undefined when the extension is absent. */
  sni: string | undefined;
  keyShares: KeyShareEntry[];
  pskKeyExchangeModes: number[];
  /** Length of the padding extension body, 0 when absent. */
  paddingLength: number;
  /** Total bytes of the hello handshake message (header included). */
  helloLength: number;
  /** Every byte read from the socket up to the end of the hello (record headers included). */
  raw: Buffer;
  /**
   * Length of the body of the first extension of `type`, or -1 when the hello has none: for a
   * hot path that needs one extension's size (a session ticket, say) without `extensions`
   * cutting out every body.
   */
  extensionLength(type: number): number;
}

/** A ClientHello as plain data (what `JSON.stringify` of a parsed hello gives). */
export type ClientHelloData = Omit<ClientHello, 'extensionLength'>;

export interface Fingerprints {
  ja3: string;
  ja3_string: string;
  ja4: string;
  ja4_r: string;
  ja4_o: string;
  ja4_ro: string;
}
