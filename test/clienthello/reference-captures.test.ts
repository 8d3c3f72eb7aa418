// Every real ClientHello in shared/data/tls/clienthellos.json, through `bin/weaver fingerprint`
// and through the library, must give exactly the reference JA3 and all four JA4 forms.
import t from 'tap';
import { fingerprints } from '../../proxy/clienthello/fingerprints.ts';
import { parseClientHello } from '../../proxy/clienthello/parse.ts';
import { frameClientHello } from '../../proxy/clienthello/records.ts';
import { referenceHellos } from '../support/reference-hellos.ts';
import { jsonLines, runWeaver } from '../support/run-weaver.ts';

const hellos = referenceHellos();
const FIELDS = ['ja3', 'ja3_string', 'ja4', 'ja4_r', 'ja4_o', 'ja4_ro'] as const;

t.equal(hellos.length, 27, 'the shared data set has 27 hellos');

t.test('weaver fingerprint on stdin matches every reference', async (t) => {
  const run = await runWeaver(['fingerprint'], hellos.map((h) => h.clientHelloHex).join('\n') + '\n');
  t.equal(run.code, 0, `exit 0 (stderr: ${run.stderr})`);
  const lines = jsonLines(run.stdout);
  t.equal(lines.length, hellos.length, 'one line per hello');
  hellos.forEach((ref, i) => {
    const line = lines[i] ?? {};
    t.equal(line.line, i + 1, `${ref.id}: line number`);
    for (const f of FIELDS) t.equal(line[f], ref[f], `${ref.id} (${ref.client}): ${f}`);
    t.equal(line.sni, ref.sni, `${ref.id}: sni`);
    t.equal(line.alpn, ref.alpn?.[0] ?? null, `${ref.id}: first alpn`);
  });
});

t.test('the library agrees, and parses what the capture notes say', async (t) => {
  for (const ref of hellos) {
    const raw = Buffer.from(ref.clientHelloHex, 'hex');
    const hello = parseClientHello(raw);
    t.same(fingerprints(hello), Object.fromEntries(FIELDS.map((f) => [f, ref[f]])), `${ref.id}: fingerprints()`);
    t.equal(hello.sni, ref.sni ?? undefined, `${ref.id}: sni`);
    t.same(hello.alpn, ref.alpn ?? [], `${ref.id}: alpn`);
    const framing = frameClientHello(raw, 65536);
    t.same(framing, { state: 'complete', records: ref.recordCount, helloLength: hello.helloLength, consumed: raw.length }, `${ref.id}: framing`);
    t.equal(hello.raw, raw, `${ref.id}: raw is the input`);
  }
});
