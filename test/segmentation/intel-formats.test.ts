// Threat-intel feed formats: the real files in shared/data/blocklists and the SSLBL JA3 CSV
// parse with the right format, counts and entries; bad lines are skipped with their line
// numbers; bounds and undetectable formats are clear errors.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseCidr } from '../../plugins/segmentation/intel/cidr.ts';
import { detectFormat, parseFeed, type FeedFormat } from '../../plugins/segmentation/intel/parse.ts';
import type { FeedEntry } from '../../plugins/segmentation/intel/entries.ts';
import { sharedDataPath } from '../support/shared-data.ts';

const read = (rel: string): string => readFileSync(sharedDataPath(rel), 'utf8');
const find = (entries: FeedEntry[], key: string): FeedEntry | undefined =>
  entries.find((e) => (e.kind === 'cidr' ? e.cidr : e.ja3) === key);

const files: Array<{ file: string; format: FeedFormat; count: number; known: FeedEntry[]; last: string }> = [
  {
    file: 'blocklists/firehol_level1_2021-06-28.netset', format: 'firehol-netset', count: 2892,
    known: [{ kind: 'cidr', cidr: '0.0.0.0/8', family: 4 }, { kind: 'cidr', cidr: '3.90.198.217/32', family: 4 }],
    last: '224.0.0.0/3',
  },
  {
    file: 'blocklists/spamhaus_drop_2023-02-20.txt', format: 'spamhaus-drop', count: 936,
    known: [{ kind: 'cidr', cidr: '1.10.16.0/20', family: 4, note: 'SBL256894' }],
    last: '223.254.0.0/16',
  },
  {
    file: 'blocklists/spamhaus_drop_v4_2025-04-15.json', format: 'spamhaus-drop-json', count: 1406,
    known: [{ kind: 'cidr', cidr: '223.173.0.0/16', family: 4, note: 'SBL204954' }],
    last: '223.254.0.0/16',
  },
  {
    file: 'blocklists/spamhaus_dropv6_cidr-only_2024-02-27.txt', format: 'plain', count: 51,
    known: [{ kind: 'cidr', cidr: '2a12:2640::/29', family: 6 }, { kind: 'cidr', cidr: '2001:678:c5c::/48', family: 6 }],
    last: '',
  },
  {
    file: 'blocklists/feodo_ipblocklist_2024-04-04.csv', format: 'feodo-csv', count: 28,
    known: [{ kind: 'cidr', cidr: '192.9.135.73/32', family: 4, note: 'Pikabot port 1194' }],
    last: '172.233.221.61/32',
  },
  {
    file: 'ja3/sslbl_ja3_fingerprints.csv', format: 'sslbl-ja3-csv', count: 98,
    known: [{ kind: 'ja3', ja3: 'b386946a5a44d1ddcc843bc75336dfce', note: 'Dridex' }],
    last: '',
  },
];

for (const f of files) {
  t.test(f.file, async (t) => {
    const text = read(f.file);
    t.equal(detectFormat(text), f.format, 'format detected from the content');
    const auto = parseFeed(text, 'auto', f.file);
    const given = parseFeed(text, f.format, f.file);
    t.same(auto, given, 'auto and explicit agree');
    t.equal(auto.entries.length, f.count);
    t.equal(auto.skipped, 0, JSON.stringify(auto.errors));
    for (const k of f.known) t.same(find(auto.entries, k.kind === 'cidr' ? k.cidr : k.ja3), k);
    if (f.last) t.equal((auto.entries.at(-1) as { cidr: string }).cidr, f.last, 'read to the end');
  });
}

t.test('bad lines are skipped and counted with their line numbers', async (t) => {
  const text = ['; Spamhaus DROP List', '1.10.16.0/20 ; SBL1', '300.1.1.1/8 ; SBL2', '5.6.7.0/33 ; SBL3', 'bogus ; SBL4', '2.56.192.0/22 ; SBL5', '1.10.16.0/20 ; SBL1'].join('\n');
  const r = parseFeed(text, 'auto', 'drop.txt');
  t.equal(r.format, 'spamhaus-drop');
  t.same(r.entries.map((e) => (e as { cidr: string }).cidr), ['1.10.16.0/20', '2.56.192.0/22'], 'good lines kept, duplicate dropped');
  t.equal(r.skipped, 3);
  t.same(r.errors.map((e) => e.line), [3, 4, 5]);
  t.match(r.errors[0]!.message, /not an IP address/);
  t.match(r.errors[1]!.message, /longer than 32/);
  const json = parseFeed('{"cidr":"1.2.3.0/24"}\n{broken\n{"sblid":"x"}\n{"type":"metadata"}\n', 'spamhaus-drop-json', 'j');
  t.same(json.errors, [{ line: 2, message: 'not a JSON object' }, { line: 3, message: 'no "cidr" string' }]);
});

t.test('plain lists: addresses, prefixes and JA3s, with notes', async (t) => {
  const r = parseFeed('# mine\n10.0.0.1\n192.168.1.77/24 office\n2001:DB8:0:0::1/64, lab\ne7d705a3286e19ea42f587b344ee6865 # tor\n', 'auto', 'mine');
  t.equal(r.format, 'plain');
  t.same(r.entries, [
    { kind: 'cidr', cidr: '10.0.0.1/32', family: 4 },
    { kind: 'cidr', cidr: '192.168.1.0/24', family: 4, note: 'office' },
    { kind: 'cidr', cidr: '2001:db8::/64', family: 6, note: 'lab' },
    { kind: 'ja3', ja3: 'e7d705a3286e19ea42f587b344ee6865', note: 'tor' },
  ]);
});

t.test('canonical prefixes', async (t) => {
  t.same(parseCidr('2001:0db8:0000:0000:0001:0000:0000:0001/128'), { cidr: '2001:db8::1:0:0:1/128', family: 6 });
  t.same(parseCidr('::ffff:10.1.2.3'), { cidr: '10.1.2.3/32', family: 4 }, 'an IPv4-mapped address is the IPv4 address, as in the engine');
  t.same(parseCidr('2a0b:4ec7:ffff::/29'), { cidr: '2a0b:4ec0::/29', family: 6 }, 'host bits cleared');
  t.same(parseCidr('::/0'), { cidr: '::/0', family: 6 });
  t.same(parseCidr('1:0:0:1:0:0:0:1'), { cidr: '1:0:0:1::1/128', family: 6 }, 'the longest zero run collapses');
  t.match(parseCidr('1.2.3.4/x'), /bad prefix length/);
  t.match(parseCidr('fe80::1%eth0'), /not an IP address/);
});

t.test('undetectable formats, unusable files and bounds are errors', async (t) => {
  t.throws(() => detectFormat('hello world\nsomething else\n'), { code: 'WEAVER_ERR_INTEL_FORMAT' });
  t.throws(() => parseFeed(read('ja3/salesforce_osx-nix-ja3.csv'), 'auto', 'salesforce'), { code: 'WEAVER_ERR_INTEL_FORMAT' }, 'not a blocklist');
  t.throws(() => parseFeed('nope\nnot this either\n', 'firehol-netset', 'x'), { code: 'WEAVER_ERR_INTEL_FORMAT', message: /line 1/ });
  t.throws(() => parseFeed('1.2.3.4\n'.repeat(100), 'plain', 'x', { maxBytes: 100 }), { code: 'WEAVER_ERR_INTEL_TOO_LARGE' });
  t.throws(() => parseFeed('1.2.3.4\n'.repeat(100), 'plain', 'x', { maxLines: 50 }), { code: 'WEAVER_ERR_INTEL_TOO_LARGE' });
  const many = Array.from({ length: 20 }, (_, i) => `10.0.0.${i}`).join('\n');
  t.throws(() => parseFeed(many, 'plain', 'x', { maxEntries: 10 }), { code: 'WEAVER_ERR_INTEL_TOO_LARGE' });
  t.same(parseFeed('# nothing listed today\n', 'auto', 'x').entries, [], 'a feed with only comments is empty, not an error');
});
