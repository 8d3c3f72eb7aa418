// What the bench brings along: Debian packages (load generators, nginx, haproxy) when missing,
// the Node peers in bench/peers/ (never in the project's dependencies), and one certificate
// that every target serves.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The Node peers, pinned. Installed by `npm install --prefix bench/peers`. */
export const PEERS: Readonly<Record<string, string>> = {
  'http-proxy': '1.18.1',
  fastify: '5.12.8',
  '@fastify/http-proxy': '11.6.3',
};

export interface Tools {
  h2load: boolean;
  wrk: boolean;
  nginx: boolean;
  haproxy: boolean;
  /** Why a tool is missing, for the notes under the table. */
  notes: string[];
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function say(line: string): void {
  process.stdout.write(`[bench] ${line}\n`);
}

/**
 * Installs what is missing with apt when it can (root and apt-get present). Debian's package
 * scripts may try to start nginx and haproxy as services; the bench never uses those.
 */
export function ensureTools(): Tools {
  const wanted: Array<[keyof Omit<Tools, 'notes'>, string[]]> = [
    ['h2load', ['nghttp2-client']],
    ['wrk', ['wrk']],
    ['nginx', ['nginx-light', 'nginx']],
    ['haproxy', ['haproxy']],
  ];
  const missing = wanted.filter(([cmd]) => !has(cmd));
  const notes: string[] = [];
  const canApt = process.getuid?.() === 0 && has('apt-get');
  if (missing.length > 0 && canApt) {
    say(`installing with apt: ${missing.map(([c]) => c).join(', ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = (pkg: string) =>
      spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', pkg], { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    let updated = false;
    for (const [cmd, pkgs] of missing) {
      for (const pkg of pkgs) {
        let r = install(pkg);
        if (r.status !== 0 && !updated) {
          spawnSync('apt-get', ['update', '-q'], { env, stdio: 'ignore' });
          updated = true;
          r = install(pkg);
        }
        if (r.status === 0 && has(cmd)) break;
      }
    }
  }
  const tools: Tools = { h2load: has('h2load'), wrk: has('wrk'), nginx: has('nginx'), haproxy: has('haproxy'), notes };
  for (const [cmd, pkgs] of wanted) {
    if (!tools[cmd]) notes.push(`${cmd} not available (${canApt ? `apt-get install ${pkgs[0]} failed` : 'not root or no apt-get'})`);
  }
  return tools;
}

/** Installs the pinned peers into bench/peers/ unless they are there already. */
export function ensurePeers(peersDir: string): { ok: boolean; note?: string } {
  const installed = Object.entries(PEERS).every(([name, version]) => {
    try {
      const pkg = JSON.parse(readFileSync(join(peersDir, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string };
      return pkg.version === version;
    } catch {
      return false;
    }
  });
  if (installed) return { ok: true };
  say(`installing the Node peers into ${peersDir}`);
  if (!existsSync(join(peersDir, 'package.json'))) {
    writeFileSync(join(peersDir, 'package.json'), `${JSON.stringify({ name: 'weaver-bench-peers', private: true }, null, 2)}\n`);
  }
  const specs = Object.entries(PEERS).map(([name, version]) => `${name}@${version}`);
  const r = spawnSync('npm', ['install', '--prefix', peersDir, '--save-exact', '--no-audit', '--no-fund', '--loglevel=error', ...specs], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return r.status === 0 ? { ok: true } : { ok: false, note: `npm install of the Node peers failed (exit ${r.status})` };
}

export interface CertFiles {
  cert: string;
  key: string;
  /** cert + key in one file, as haproxy wants it. */
  combined: string;
  kind: string;
}

/** One self-signed certificate for 127.0.0.1/localhost with `openssl req`. */
export function makeCertificate(dir: string, kind: 'rsa' | 'ecdsa'): CertFiles {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const newkey = kind === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  const r = spawnSync(
    'openssl',
    ['req', '-x509', ...newkey, '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
  const combined = join(dir, 'combined.pem');
  writeFileSync(combined, readFileSync(cert, 'utf8') + readFileSync(key, 'utf8'));
  return { cert, key, combined, kind: kind === 'rsa' ? 'RSA 2048' : 'ECDSA P-256' };
}

/** One line per tool with its version, for the report. */
export function versions(tools: Tools): Record<string, string> {
  const first = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').find((l) => l.trim().length > 0)?.trim() ?? '?';
  };
  const out: Record<string, string> = { node: process.version, openssl: first('openssl', ['version']) };
  if (tools.h2load) out.h2load = first('h2load', ['--version']);
  if (tools.wrk) out.wrk = first('wrk', ['--version']).replace(/\s+Copyright.*$/, '');
  if (tools.nginx) out.nginx = first('nginx', ['-v']);
  if (tools.haproxy) out.haproxy = first('haproxy', ['-v']);
  const cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  out.cpu = cpu?.[1] ?? '?';
  out.kernel = first('uname', ['-r']);
  return out;
}
