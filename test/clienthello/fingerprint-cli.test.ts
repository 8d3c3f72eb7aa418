// `weaver fingerprint`: input forms (stdin lines, --hex, --pcap in several link types and both
// file formats), and bad input reported per line without stopping the batch.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { referenceHello } from '../support/reference-hellos.ts';
import type { ReferenceHello } from '../support/reference-hellos.ts';
import { conversation, writePcap, writePcapng } from '../support/pcap-writer.ts';
import type { LinkType, TcpPacket } from '../support/pcap-writer.ts';
import { jsonLines, runWeaver } from '../support/run-weaver.ts';

const curl = referenceHello('cap-002');
const chrome = referenceHello('cap-046');
const node24 = referenceHello('cap-037');
const dir = mkdtempSync(join(tmpdir(), 'weaver-fingerprint-cli-'));

function expected(ref: ReferenceHello): Record<string, unknown> {
  return {
    sni: ref.sni, alpn: ref.alpn?.[0] ?? null,
    ja3: ref.ja3, ja3_string: ref.ja3_string, ja4: ref.ja4, ja4_r: ref.ja4_r, ja4_o: ref.ja4_o, ja4_ro: ref.ja4_ro,
  };
}

function pcapFile(name: string, bytes: Buffer): string {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

t.test('--hex, repeated, in the order given', async (t) => {
  const run = await runWeaver(['fingerprint', '--hex', curl.clientHelloHex, `--hex=${chrome.clientHelloHex}`]);
  t.equal(run.code, 0);
  t.same(jsonLines(run.stdout), [expected(curl), expected(chrome)]);
});

t.test('stdin: spacing, colons, 0x, comments and blank lines are tolerated', async (t) => {
  const spaced = curl.clientHelloHex.match(/../g)!.join(' ');
  const colons = '0x' + chrome.clientHelloHex.match(/../g)!.join(':');
  const bare = Buffer.from(node24.clientHelloHex, 'hex').subarray(5).toString('hex'); // no record header
  const run = await runWeaver(['fingerprint'], `# captured on loopback\n\n  ${spaced}  \r\n${colons}\n${bare}\n`);
  t.equal(run.code, 0, run.stderr);
  const lines = jsonLines(run.stdout);
  t.same(lines.map((l) => l.line), [3, 4, 5], 'line numbers count every input line');
  t.same(lines.map(({ line: _line, ...rest }) => rest), [expected(curl), expected(chrome), expected(node24)]);
});

t.test('bad lines are reported and the rest still printed; exit 1', async (t) => {
  const truncated = curl.clientHelloHex.slice(0, 200);
  const input = ['nothex!', truncated, '474554202f20485454502f312e310d0a', 'abc', curl.clientHelloHex].join('\n');
  const run = await runWeaver(['fingerprint'], input);
  t.equal(run.code, 1);
  const lines = jsonLines(run.stdout);
  t.equal(lines.length, 5, 'one line per input line');
  const codes = lines.slice(0, 4).map((l) => (l.error as { code: string }).code);
  t.same(codes, ['WEAVER_ERR_FINGERPRINT_INPUT', 'WEAVER_ERR_HELLO_TRUNCATED', 'WEAVER_ERR_HELLO_NOT_TLS', 'WEAVER_ERR_FINGERPRINT_INPUT']);
  for (const l of lines.slice(0, 4)) t.type((l.error as { message: unknown }).message, 'string');
  t.same(lines[4], { line: 5, ...expected(curl) }, 'the good line after the bad ones');
});

t.test('usage errors exit 2', async (t) => {
  for (const args of [['--bogus'], ['--hex'], ['--pcap']]) {
    const run = await runWeaver(['fingerprint', ...args]);
    t.equal(run.code, 2, args.join(' '));
    t.match(run.stderr, /Usage: weaver fingerprint/);
  }
  const help = await runWeaver(['fingerprint', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--pcap FILE/);
});

t.test('--pcap: first ClientHello of each TCP flow, across link types and formats', async (t) => {
  const flows = (v6: boolean): TcpPacket[] => [
    // A plain-HTTP flow first: not TLS, so skipped without an error.
    ...conversation({ client: v6 ? 'fd00::2' : '10.0.0.2', server: v6 ? 'fd00::1' : '10.0.0.1', clientPort: 40000, serverPort: 80,
      clientBytes: Buffer.from('GET / HTTP/1.1\r\n\r\n'), serverBytes: Buffer.from('HTTP/1.1 200 OK\r\n\r\n') }),
    // Chrome's 1.9 KB hello in 600-byte segments, delivered in reverse and each sent twice.
    ...conversation({ client: v6 ? 'fd00::2' : '10.0.0.2', server: v6 ? 'fd00::1' : '10.0.0.1', clientPort: 40001, serverPort: 443,
      clientBytes: Buffer.from(chrome.clientHelloHex, 'hex'), mss: 600, reverse: true, retransmit: true, clientIsn: 0xffffff00,
      serverBytes: Buffer.from('160303003a020000360303', 'hex') }),
    // curl's hello from a connection whose SYN was not captured.
    ...conversation({ client: v6 ? 'fd00::3' : '10.0.0.3', server: v6 ? 'fd00::1' : '10.0.0.1', clientPort: 40002, serverPort: 443,
      clientBytes: Buffer.from(curl.clientHelloHex, 'hex'), mss: 100, skipSyn: true }),
  ];
  const cases: [string, Buffer, boolean][] = [];
  for (const link of ['ethernet', 'sll', 'sll2', 'raw', 'null'] as LinkType[]) {
    cases.push([`pcap ${link} IPv4`, writePcap(flows(false), link), false]);
    cases.push([`pcap ${link} IPv6`, writePcap(flows(true), link), true]);
  }
  cases.push(['pcap big-endian', writePcap(flows(false), 'ethernet', { bigEndian: true }), false]);
  cases.push(['pcapng ethernet IPv6', writePcapng(flows(true), 'ethernet'), true]);
  cases.push(['pcapng linux cooked IPv4', writePcapng(flows(false), 'sll'), false]);

  const files = cases.map((c, i) => pcapFile(`case-${i}.pcap`, c[1]));
  const run = await runWeaver(['fingerprint', ...files.flatMap((f) => ['--pcap', f])]);
  t.equal(run.code, 0, run.stderr);
  const lines = jsonLines(run.stdout);
  t.equal(lines.length, cases.length * 2, 'two TLS flows per file, the HTTP one skipped');
  cases.forEach(([name, , v6], i) => {
    const [a, b] = [lines[2 * i]!, lines[2 * i + 1]!];
    t.same(a, { flow: v6 ? '[fd00::2]:40001 > [fd00::1]:443' : '10.0.0.2:40001 > 10.0.0.1:443', ...expected(chrome) }, `${name}: Chrome`);
    t.same(b, { flow: v6 ? '[fd00::3]:40002 > [fd00::1]:443' : '10.0.0.3:40002 > 10.0.0.1:443', ...expected(curl) }, `${name}: curl`);
  });
});

t.test('--pcap: a gap in the hello, and files that are not captures', async (t) => {
  const packets = conversation({ client: '10.0.0.2', server: '10.0.0.1', clientPort: 40000, serverPort: 443,
    clientBytes: Buffer.from(curl.clientHelloHex, 'hex'), mss: 100 });
  packets.splice(5, 1); // lose the second data segment
  const gap = pcapFile('gap.pcap', writePcap(packets, 'ethernet'));
  const notPcap = pcapFile('not.pcap', Buffer.from('hello, world'));
  const cut = pcapFile('cut.pcap', writePcap(packets, 'ethernet').subarray(0, 100));
  const run = await runWeaver(['fingerprint', '--pcap', gap, '--pcap', notPcap, '--pcap', cut, '--pcap', join(dir, 'missing.pcap')]);
  t.equal(run.code, 1);
  const lines = jsonLines(run.stdout);
  t.equal(lines.length, 4);
  t.same(lines[0], { flow: '10.0.0.2:40000 > 10.0.0.1:443', error: lines[0]!.error });
  t.equal((lines[0]!.error as { code: string }).code, 'WEAVER_ERR_HELLO_TRUNCATED', 'the hello stops at the gap');
  t.match(lines[1], { file: notPcap, error: { code: 'WEAVER_ERR_FINGERPRINT_INPUT', message: /not a packet capture/ } });
  t.match(lines[2], { file: cut, error: { code: 'WEAVER_ERR_FINGERPRINT_INPUT', message: /cut short|past the end/ } });
  t.match(lines[3], { error: { code: 'WEAVER_ERR_FINGERPRINT_INPUT', message: /ENOENT/ } });
});
