// Memory of client profiles: fills the plugin's own profile table (rows of integers in shared
// Int32Arrays, found through two generations of typed hash tables) with N profiles keyed like live ones, and reports the heap it
// took. Run with --expose-gc (`npm run eval:bae` does). Prints one JSON line.
import { ProfileTable } from '../../plugins/bae/profile-table.ts';
import { nowS } from '../../plugins/bae/profiles.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const n = Number(process.argv[2] ?? 1_000_000);
const withJa4 = process.argv[3] === 'ja4';

function used(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  // `external` already counts the ArrayBuffers the rows live in.
  return m.heapUsed + m.external;
}

const before = used();
const table = new ProfileTable('a:', n, 86_400_000);
const t = nowS();
const ja4s = ['t13d1516h2_8daaf6152771_02713d6af862', 't13d1715h2_5b57614c22b0_7121afd63204', 't13i3111h2_e8f1e7e78f70_b26ce05bbdd6'];
for (let i = 0; i < n; i++) {
  // Distinct IPv4 addresses spread like real ones, optionally with a JA4 (address+JA4 profiles).
  const addr = `${(i >>> 24) + 1}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
  const p = table.touch(addr, withJa4 ? ja4s[i % 3] : undefined, t);
  p.conns = 1 + (i % 50);
  p.rate = 100 + (i % 700);
  p.score = i % 1000;
  p.peak = (i * 7) % 1000;
  p.requests = i % 300;
  p.lastPrint = (i * 2654435761) >>> 1;
  p.cls = i % 4;
}
// The pending-save set is part of what the table holds between two saves.
const after = used();
const bytes = after - before;
process.stdout.write(`${JSON.stringify({ profiles: table.size, keyedBy: withJa4 ? 'address+JA4' : 'address', mib: Math.round((bytes / 1048576) * 10) / 10, bytesPerProfile: Math.round(bytes / table.size) })}\n`);
