// Record framing: a hello is complete exactly when its last byte has arrived, whatever the split
// into records and reads, and hopeless input is refused as early as the bytes allow.
import t from 'tap';
import { ClientHelloError } from '../../proxy/errors.ts';
import { frameClientHello, reassembleClientHello } from '../../proxy/clienthello/records.ts';
import { buildHandshake, ext, frameRecords } from '../support/hello-builder.ts';
import { referenceHello } from '../support/reference-hellos.ts';

const curl = Buffer.from(referenceHello('cap-002').clientHelloHex, 'hex');
const message = curl.subarray(5);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ClientHelloError) return err.code;
    throw err;
  }
  return undefined;
}

t.test('every prefix of a one-record hello needs more; the whole is complete', async (t) => {
  for (let n = 0; n < curl.length; n++) {
    const f = frameClientHello(curl.subarray(0, n), 65536);
    if (f.state !== 'need-more') t.fail(`prefix of ${n} bytes said ${f.state}`);
  }
  t.same(frameClientHello(curl, 65536), { state: 'complete', records: 1, helloLength: message.length, consumed: curl.length });
});

t.test('a hello over several records, headers split anywhere, reassembles', async (t) => {
  // 1- and 2-byte fragments put the 4-byte handshake header across three records.
  const raw = frameRecords(message, { fragments: [1, 2, 100, 512] });
  const records = 4; // 1 + 2 + 100 + the remaining 409
  for (let n = 0; n < raw.length; n++) {
    const f = frameClientHello(raw.subarray(0, n), 65536);
    if (f.state !== 'need-more') t.fail(`prefix of ${n} bytes said ${f.state}`);
  }
  t.same(frameClientHello(raw, 65536), { state: 'complete', records, helloLength: message.length, consumed: raw.length });
  const joined = reassembleClientHello(raw);
  t.same(joined.message, message, 'fragments join into the handshake message');
  t.equal(joined.records, records);
});

t.test('bytes after the hello are not part of it', async (t) => {
  const extra = Buffer.concat([Buffer.from('1703030005', 'hex'), Buffer.from('hello')]);
  const f = frameClientHello(Buffer.concat([curl, extra]), 65536);
  t.same(f, { state: 'complete', records: 1, helloLength: message.length, consumed: curl.length });
  // A record that carries the end of the hello and more handshake bytes ends at the record.
  const msg = Buffer.concat([message, Buffer.from([0x0b, 0, 0, 0])]);
  const raw = frameRecords(msg);
  t.same(frameClientHello(raw, 65536), { state: 'complete', records: 1, helloLength: message.length, consumed: raw.length });
  t.same(reassembleClientHello(raw).message, message, 'the message stops at its own length');
});

t.test('not TLS is refused from the first bytes', async (t) => {
  t.equal(codeOf(() => frameClientHello(Buffer.from('G'), 65536)), 'WEAVER_ERR_HELLO_NOT_TLS', 'plain HTTP, one byte');
  t.equal(codeOf(() => frameClientHello(Buffer.from('GET / HTTP/1.1\r\n'), 65536)), 'WEAVER_ERR_HELLO_NOT_TLS');
  t.equal(codeOf(() => frameClientHello(Buffer.from([0x16, 0x47]), 65536)), 'WEAVER_ERR_HELLO_NOT_TLS', 'bad major version');
  t.equal(codeOf(() => frameClientHello(Buffer.from([0x16, 0x03, 0x09]), 65536)), 'WEAVER_ERR_HELLO_NOT_TLS', 'bad minor version');
  t.equal(codeOf(() => frameClientHello(Buffer.from([0x80, 0x2e, 0x01]), 65536)), 'WEAVER_ERR_HELLO_NOT_TLS', 'SSLv2 hello');
  t.same(frameClientHello(Buffer.from([0x16]), 65536), { state: 'need-more' }, 'one good byte waits');
  t.same(frameClientHello(Buffer.alloc(0), 65536), { state: 'need-more' });
});

t.test('malformed framing', async (t) => {
  const bad = (hex: string): string | undefined => codeOf(() => frameClientHello(Buffer.from(hex, 'hex'), 65536));
  t.equal(bad('1603010000'), 'WEAVER_ERR_HELLO_MALFORMED', 'empty record');
  t.equal(bad('1603014001'), 'WEAVER_ERR_HELLO_MALFORMED', 'record over 2^14');
  t.equal(bad('16030100040200002a'), 'WEAVER_ERR_HELLO_MALFORMED', 'a ServerHello, not a ClientHello');
  const firstHalf = frameRecords(message.subarray(0, 100));
  t.equal(codeOf(() => frameClientHello(Buffer.concat([firstHalf, Buffer.from('150303000201', 'hex')]), 65536)),
    'WEAVER_ERR_HELLO_MALFORMED', 'an alert record in the middle of the hello');
  t.equal(codeOf(() => frameClientHello(Buffer.concat([firstHalf, Buffer.from('17')]), 65536)),
    'WEAVER_ERR_HELLO_MALFORMED', 'a later record of the wrong type, refused on its first byte');
  t.equal(codeOf(() => frameClientHello(Buffer.concat([firstHalf, Buffer.from('1604', 'hex')]), 65536)),
    'WEAVER_ERR_HELLO_MALFORMED', 'a later record with a bad version');
  t.equal(codeOf(() => reassembleClientHello(curl.subarray(0, 300))), 'WEAVER_ERR_HELLO_TRUNCATED');
});

t.test('the byte cap', async (t) => {
  t.same(frameClientHello(curl, curl.length), { state: 'complete', records: 1, helloLength: message.length, consumed: curl.length },
    'a hello of exactly the cap fits');
  t.equal(codeOf(() => frameClientHello(curl, curl.length - 1)), 'WEAVER_ERR_HELLO_TOO_LARGE');
  // Known from the first 9 bytes: the handshake header says the hello cannot fit.
  t.equal(codeOf(() => frameClientHello(curl.subarray(0, 9), 512)), 'WEAVER_ERR_HELLO_TOO_LARGE', 'refused from the header');
  const huge = Buffer.from('16030140000100ffff', 'hex');
  t.equal(codeOf(() => frameClientHello(huge, 65536)), 'WEAVER_ERR_HELLO_TOO_LARGE', 'a 64 KiB hello over a 64 KiB cap');
  // Record headers count too: two seen so far, and at least one more for the rest.
  const small = buildHandshake({ ciphers: [0x1301], extensions: [ext.padding(1000)] });
  const split = frameRecords(small, { fragments: Array(small.length).fill(100) });
  const least = small.length + 3 * 5;
  t.equal(codeOf(() => frameClientHello(split.subarray(0, 200), least - 1)), 'WEAVER_ERR_HELLO_TOO_LARGE', 'one byte short');
  t.same(frameClientHello(split.subarray(0, 200), least), { state: 'need-more' }, 'might still fit');
  t.equal(codeOf(() => frameClientHello(split.subarray(0, 1000), 1000)), 'WEAVER_ERR_HELLO_TOO_LARGE', 'the cap is reached');
  t.same(frameClientHello(split, split.length), { state: 'complete', records: Math.ceil(small.length / 100), helloLength: small.length, consumed: split.length });
});
