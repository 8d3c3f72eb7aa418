// MPTCP on a bed's paths, as the kernel does it: the endpoint announces each extra path's
// address (`signal`), the edge accepts the announcements and opens one subflow per path; plain
// TCP programs are switched to MPTCP by `mptcpize run` (Debian's mptcpd).
import { execFileSync } from 'node:child_process';
import type { NetnsBed } from '../../test/support/netns-bed.ts';
import { tcpTransfer, type TcpTransfer } from '../../test/support/netns-tcp.ts';

export function mptcpizeMissing(): string | false {
  try {
    execFileSync('mptcpize', ['--help'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'mptcpize not found (apt-get install mptcpd)';
  }
}

export function configureMptcp(bed: NetnsBed): void {
  const extra = String(bed.paths.length);
  for (const ns of [bed.edge, bed.endpoint]) {
    // On by default in a new namespace; a kernel built or booted without it fails here, clearly.
    const enabled = execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/sys/net/mptcp/enabled'], { encoding: 'utf8' }).trim();
    if (enabled !== '1') throw new Error(`net.mptcp.enabled is ${enabled} in ${ns}`);
    bed.ip(ns, ['mptcp', 'limits', 'set', 'subflow', extra, 'add_addr_accepted', extra]);
  }
  for (const p of bed.paths.slice(1)) bed.ip(bed.endpoint, ['mptcp', 'endpoint', 'add', p.endpointAddr, 'dev', p.dev, 'signal']);
}

/** An MPTCP transfer opened on path 0; `subflowsUsed` counts paths that carried ≥ 20% of it. */
export async function mptcpTransfer(bed: NetnsBed, bytes: number): Promise<TcpTransfer & { subflowsUsed: number }> {
  const first = bed.paths[0]!;
  const r = await tcpTransfer(bed, { host: first.endpointAddr, bind: first.edgeAddr, bytes, wrap: ['mptcpize', 'run'] });
  return { ...r, subflowsUsed: r.onPaths.filter((b) => b >= bytes * 0.2).length };
}
