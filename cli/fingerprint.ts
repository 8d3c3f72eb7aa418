// `weaver fingerprint`: ClientHello bytes in, one JSON line of fingerprints out per hello. Input
// is hex (one hello per stdin line, or --hex) or a packet capture (--pcap). A bad hello prints an
// `error` line and the command goes on, exiting 1 at the end, so one odd capture does not hide
// the rest of a batch.
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { WeaverError } from '../proxy/errors.ts';
import { fingerprints } from '../proxy/clienthello/fingerprints.ts';
import { parseClientHello, parseClientHelloBody } from '../proxy/clienthello/parse.ts';
import { pcapSegments } from '../proxy/clienthello/pcap.ts';
import { clientStreams } from '../proxy/clienthello/tcp-streams.ts';

const usage = `Usage: weaver fingerprint [--hex HEX]… [--pcap FILE]
  With neither option, reads hex ClientHellos from stdin, one per line.
  Hex starts at the TLS record header (16 03 …) or at a bare handshake message (01 …);
  whitespace, colons and a 0x prefix are ignored. Prints one JSON line per hello:
  sni, alpn, ja3, ja3_string, ja4, ja4_r, ja4_o, ja4_ro — or {"error": {code, message}}.
`;

const INPUT_ERROR = 'WEAVER_ERR_FINGERPRINT_INPUT';

interface Options {
  hexes: string[];
  pcaps: string[];
}

export async function fingerprintCommand(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  if (parsed.kind === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  if (parsed.kind === 'bad-usage') {
    process.stderr.write(`weaver fingerprint: ${parsed.message}\n\n${usage}`);
    return 2;
  }
  const options = parsed.options;
  let failures = 0;
  const emit = (line: Record<string, unknown>): void => {
    if ('error' in line) failures++;
    process.stdout.write(`${JSON.stringify(line)}\n`);
  };

  if (options.hexes.length === 0 && options.pcaps.length === 0) {
    let lineNo = 0;
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
      lineNo++;
      if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
      emit({ line: lineNo, ...fromHex(line) });
    }
  }
  for (const hex of options.hexes) emit(fromHex(hex));
  for (const file of options.pcaps) for (const line of await fromPcap(file)) emit(line);
  return failures === 0 ? 0 : 1;
}

type ParsedArgs = { kind: 'run'; options: Options } | { kind: 'help' } | { kind: 'bad-usage'; message: string };

function parseArgs(args: string[]): ParsedArgs {
  const options: Options = { hexes: [], pcaps: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag !== '--hex' && flag !== '--pcap') return { kind: 'bad-usage', message: `unknown argument "${arg}"` };
    const value = inline ?? args[++i];
    if (value === undefined) return { kind: 'bad-usage', message: `${flag} needs a value` };
    (flag === '--hex' ? options.hexes : options.pcaps).push(value);
  }
  return { kind: 'run', options };
}

function fromHex(text: string): Record<string, unknown> {
  const hex = text.replace(/[\s:]/g, '').replace(/^0x/i, '');
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-f]+$/i.test(hex)) {
    return failure(INPUT_ERROR, 'not an even-length string of hex digits');
  }
  return describe(Buffer.from(hex, 'hex'));
}

async function fromPcap(file: string): Promise<Record<string, unknown>[]> {
  try {
    const streams = clientStreams(pcapSegments(await readFile(file)));
    return streams.map((s) => ({ flow: s.flow, ...describe(s.bytes) }));
  } catch (err) {
    return [{ file, ...failure(INPUT_ERROR, err instanceof Error ? err.message : String(err)) }];
  }
}

function describe(bytes: Buffer): Record<string, unknown> {
  try {
    // A bare handshake message (as from QUIC CRYPTO frames) starts with client_hello's type 1.
    const hello = bytes[0] === 0x01 ? parseClientHelloBody(bytes) : parseClientHello(bytes);
    return { sni: hello.sni ?? null, alpn: hello.alpn[0] ?? null, ...fingerprints(hello) };
  } catch (err) {
    if (err instanceof WeaverError) return failure(err.code, err.message);
    // Anything else is a bug in the parser; report it on its line and keep going.
    return failure('WEAVER_ERR_INTERNAL', err instanceof Error ? `${err.name}: ${err.message}` : String(err));
  }
}

function failure(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}
