// Three network namespaces in a line — client, vfn, server — for the nftables test. Names
// start with `seg-`, addresses come from 198.18.0.0/16 only; `remove()` deletes everything.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export interface Line {
  cli: string;
  vfn: string;
  srv: string;
  clientAddrs: string[];
  serverAddr: string;
  run(ns: string, cmd: string[], input?: string): string;
  /** A long-lived process in a namespace; killed by remove(). */
  spawn(ns: string, cmd: string[]): ChildProcess;
  remove(): void;
}

const sh = (cmd: string[], input?: string): string => execFileSync(cmd[0]!, cmd.slice(1), { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });

export function buildLine(clientHosts: number[]): Line {
  const tag = (process.pid % 46_656).toString(36);
  const cli = `seg-${tag}-cli`;
  const vfn = `seg-${tag}-vfn`;
  const srv = `seg-${tag}-srv`;
  const children: ChildProcess[] = [];
  const remove = (): void => {
    for (const c of children) c.kill('SIGKILL');
    for (const ns of [cli, vfn, srv]) {
      try {
        sh(['ip', 'netns', 'del', ns]);
      } catch {
        // not there
      }
    }
  };
  remove();
  const line: Line = {
    cli,
    vfn,
    srv,
    clientAddrs: clientHosts.map((h) => `198.18.1.${h}`),
    serverAddr: '198.18.2.2',
    run: (ns, cmd, input) => sh(['ip', 'netns', 'exec', ns, ...cmd], input),
    spawn(ns, cmd) {
      const c = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(c);
      return c;
    },
    remove,
  };
  try {
    for (const ns of [cli, vfn, srv]) sh(['ip', 'netns', 'add', ns]);
    const [c0, c1, s0, s1] = [`sgc0${tag}`, `sgc1${tag}`, `sgs0${tag}`, `sgs1${tag}`];
    sh(['ip', 'link', 'add', c0, 'netns', cli, 'type', 'veth', 'peer', 'name', c1, 'netns', vfn]);
    sh(['ip', 'link', 'add', s0, 'netns', srv, 'type', 'veth', 'peer', 'name', s1, 'netns', vfn]);
    for (const a of line.clientAddrs) line.run(cli, ['ip', 'addr', 'add', `${a}/24`, 'dev', c0]);
    line.run(vfn, ['ip', 'addr', 'add', '198.18.1.1/24', 'dev', c1]);
    line.run(vfn, ['ip', 'addr', 'add', '198.18.2.1/24', 'dev', s1]);
    line.run(srv, ['ip', 'addr', 'add', `${line.serverAddr}/24`, 'dev', s0]);
    for (const [ns, dev] of [[cli, c0], [vfn, c1], [vfn, s1], [srv, s0]] as const) {
      line.run(ns, ['ip', 'link', 'set', dev, 'up']);
      line.run(ns, ['ip', 'link', 'set', 'lo', 'up']);
    }
    line.run(cli, ['ip', 'route', 'add', 'default', 'via', '198.18.1.1']);
    line.run(srv, ['ip', 'route', 'add', 'default', 'via', '198.18.2.1']);
    line.run(vfn, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  } catch (err) {
    remove();
    throw err;
  }
  return line;
}
