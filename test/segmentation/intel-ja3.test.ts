// SSLBL JA3 list against benign JA3 lists: the 24 listed hashes that browsers, Java, Slack… also
// have are found, and the loader flags them instead of denying them unless told otherwise.
import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLED_BENIGN_JA3, ja3Collisions, loadBenignJa3 } from '../../plugins/segmentation/intel/benign-ja3.ts';
import type { IntelEntry } from '../../plugins/segmentation/intel/entries.ts';
import { FeedLoader } from '../../plugins/segmentation/intel/loader.ts';
import type { IntelOptions } from '../../plugins/segmentation/intel/options.ts';
import { parseFeed } from '../../plugins/segmentation/intel/parse.ts';
import { sharedDataPath } from '../support/shared-data.ts';

const sslblFile = sharedDataPath('ja3/sslbl_ja3_fingerprints.csv');
const benignFiles = ['ja3/trisul_ja3fingerprint.jsonl', 'ja3/leebrotherston_fingerprints.jsonl'].map(sharedDataPath);
const sslbl = parseFeed(readFileSync(sslblFile, 'utf8'), 'auto', 'sslbl').entries;

t.test('collisions with every benign list in shared/data/ja3', async (t) => {
  const benign = loadBenignJa3([BUNDLED_BENIGN_JA3, ...benignFiles]);
  const collisions = ja3Collisions(sslbl, benign);
  t.equal(collisions.length, 24);
  const byHash = new Map(collisions.map((c) => [c.ja3, c]));
  t.same(byHash.get('bc6c386f480ee97b9d9e52d472b772d8'), { ja3: 'bc6c386f480ee97b9d9e52d472b772d8', listed: 'Adware', benign: 'Google Chrome' });
  t.match(byHash.get('51a7ad14509fd614c7bb3a50c4982b8c'), { listed: 'JBifrost', benign: 'java' });
  t.match(byHash.get('2d8794cb7b52b777bee2695e79c15760'), { listed: 'Ransomware', benign: /^Tor / });
  t.match(byHash.get('9c2589e1c0e9f533a022c6205f9719e1'), { benign: 'Chrome 48.0.2564.97' }, 'computed from Lee Brotherston parameters');
  t.notOk(byHash.has('b386946a5a44d1ddcc843bc75336dfce'), 'a Dridex-only hash is not a collision');
  // Rows that the benign lists themselves label as malware or exploits are not benign.
  t.notOk(benign.has('1be3ecebe5aa9d3654e6e703d81f6928'), '"Test FP: Nuclear Exploit Kit" is left out');
  t.equal(ja3Collisions(sslbl, loadBenignJa3([BUNDLED_BENIGN_JA3])).length, 11, 'the bundled (salesforce) list alone finds 11');
});

async function loadSslbl(downgrade: boolean): Promise<IntelEntry[]> {
  let got: IntelEntry[] = [];
  const options: IntelOptions = {
    feeds: [{ name: 'sslbl', path: sslblFile, format: 'auto', action: 'deny', refreshMs: 3_600_000, timeoutMs: 1000, maxBytes: 1 << 20 }],
    allowRemoteUrls: false, downgradeBenignJa3: downgrade, benignJa3: benignFiles,
  };
  const loader = new FeedLoader({ options, baseDir: '/', onUpdate: (_name, entries) => (got = entries) });
  await loader.start();
  loader.stop();
  return got;
}

t.test('the loader downgrades colliding JA3s to flag by default', async (t) => {
  const on = await loadSslbl(true);
  t.equal(on.length, 98);
  const flagged = on.filter((e) => e.action === 'flag');
  t.equal(flagged.length, 24);
  t.match(on.find((e) => e.kind === 'ja3' && e.ja3 === 'bc6c386f480ee97b9d9e52d472b772d8'), { action: 'flag', downgraded: 'Google Chrome', note: 'Adware' });
  t.match(on.find((e) => e.kind === 'ja3' && e.ja3 === 'b386946a5a44d1ddcc843bc75336dfce'), { action: 'deny', note: 'Dridex' });
  const off = await loadSslbl(false);
  t.ok(off.every((e) => e.action === 'deny' && e.downgraded === undefined), 'downgradeBenignJa3: false denies all 98');
});

t.test('an operator list of benign JA3s (plain format) counts too', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'seg-ja3-'));
  const mine = join(dir, 'ours.txt');
  writeFileSync(mine, '# our monitoring agent\nb386946a5a44d1ddcc843bc75336dfce,probe-agent 2.1\n');
  const c = ja3Collisions(sslbl, loadBenignJa3([mine]));
  t.same(c, [{ ja3: 'b386946a5a44d1ddcc843bc75336dfce', listed: 'Dridex', benign: 'probe-agent 2.1' }]);
});
