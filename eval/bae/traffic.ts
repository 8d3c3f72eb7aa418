// The labelled traffic of the evaluation. Every simulated client has source addresses of its
// own (127.x.y.z), so a decision is labelled by the address it was made for.
//   benign: personas replaying the real browser hellos of shared/data (Chrome's extension order
//   permuted per connection) and the real library captures, and live clients (curl over
//   HTTP/1.1 and HTTP/2, node https, undici, openssl s_client) making requests, all paced like
//   people: a few visits, each one to three connections, with pauses between.
//   attacks: the seven kinds of issue 4.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { browserHello, botHello, helloFromJa3, libraryHellos, scannerHello, withRandom } from '../../test/bae/hellos.ts';
import { sendHello } from '../../test/bae/support.ts';
import { sharedDataPath } from '../../test/support/shared-data.ts';

const run = promisify(execFile);

export type Kind =
  | 'benign-browser'
  | 'benign-library'
  | 'benign-live'
  | 'flood'
  | 'fixed-random'
  | 'dripped-hello'
  | 'scanner'
  | 'known-malware'
  | 'ua-mismatch'
  | 'rotation';

export const ATTACKS: readonly Kind[] = ['flood', 'fixed-random', 'dripped-hello', 'scanner', 'known-malware', 'ua-mismatch', 'rotation'];

export interface Episode {
  kind: Kind;
  /** Which browser, library or client, for the report. */
  what?: string;
  sources: string[];
  run(port: number): Promise<void>;
}

let nextSource = 0;
/** A fresh loopback address: 127.100.0.1, 127.100.0.2 … (never .0 or .255). */
export function source(): string {
  const n = nextSource++;
  return `127.${100 + Math.floor(n / 64_000)}.${Math.floor((n % 64_000) / 250)}.${(n % 250) + 1}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Seeded, so a run is repeatable. */
let state = 12345;
export function rand(): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 4_294_967_296;
}
const between = (lo: number, hi: number) => lo + rand() * (hi - lo);

async function visits(connectionsPerVisit: () => Promise<void>[], count: number): Promise<void> {
  for (let v = 0; v < count; v++) {
    await Promise.all(connectionsPerVisit());
    await sleep(between(400, 2_000));
  }
}

export function benignEpisodes(): Episode[] {
  const out: Episode[] = [];
  const browsers = readdirSync(sharedDataPath('browser_clienthello')).filter((f) => f.endsWith('.yaml'));
  for (const file of browsers) {
    for (let p = 0; p < 4; p++) {
      const src = source();
      out.push({
        kind: 'benign-browser',
        what: file,
        sources: [src],
        run: (port) => visits(() => Array.from({ length: 1 + Math.floor(rand() * 3) }, () => sendHello(port, browserHello(file, Math.floor(rand() * 1e9)), src).then(() => undefined)), 2 + Math.floor(rand() * 3)),
      });
    }
  }
  for (const lib of libraryHellos()) {
    for (let p = 0; p < 2; p++) {
      const src = source();
      out.push({
        kind: 'benign-library',
        what: lib.client,
        sources: [src],
        run: (port) => visits(() => [sendHello(port, withRandom(lib.bytes), src).then(() => undefined)], 2 + Math.floor(rand() * 3)),
      });
    }
  }
  const live: Array<(port: number, src: string) => Promise<unknown>> = [
    (port, src) => run('curl', ['-sk', '-m', '10', '--interface', src, '-o', '/dev/null', `https://127.0.0.1:${port}/`]),
    (port, src) => run('curl', ['-sk', '-m', '10', '--http2', '--interface', src, '-o', '/dev/null', `https://127.0.0.1:${port}/`]),
    (port, src) =>
      new Promise<void>((resolve) => {
        https
          .get(`https://127.0.0.1:${port}/`, { rejectUnauthorized: false, localAddress: src, agent: false, servername: 'localhost' }, (res) => res.resume().on('end', () => resolve()))
          .on('error', () => resolve());
      }),
    async (port, src) => {
      const agent = new Agent({ localAddress: src, connect: { rejectUnauthorized: false, servername: 'localhost' } });
      try {
        const res = await request(`https://127.0.0.1:${port}/`, { dispatcher: agent });
        await res.body.dump();
      } catch {
        // counted by the decision the handshake got
      } finally {
        await agent.close();
      }
    },
  ];
  for (const client of live) {
    for (let p = 0; p < 8; p++) {
      const src = source();
      out.push({ kind: 'benign-live', sources: [src], run: (port) => visits(() => [client(port, src).then(() => undefined)], 3) });
    }
  }
  // openssl s_client cannot bind a source address: it is the one client on 127.0.0.1.
  out.push({
    kind: 'benign-live',
    sources: ['127.0.0.1'],
    run: (port) =>
      visits(
        () => [
          new Promise<void>((resolve) => {
            const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-quiet', '-ign_eof'], { stdio: ['pipe', 'ignore', 'ignore'] });
            p.on('close', () => resolve());
            p.stdin.end('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
          }),
        ],
        4,
      ),
  });
  return out;
}

function curlHello(): Buffer {
  return libraryHellos().find((x) => /curl/i.test(x.client))!.bytes;
}

export function attackEpisodes(): Episode[] {
  const out: Episode[] = [];
  // A handshake flood from one source: 300 handshakes back to back.
  const flooder = source();
  out.push({
    kind: 'flood',
    sources: [flooder],
    run: async (port) => {
      for (let i = 0; i < 300; i++) await sendHello(port, withRandom(curlHello()), flooder);
    },
  });
  // One client random (random-looking: a replayed capture) on 40 connections from 20 sources.
  const fixed = randomBytes(32);
  const replayers = Array.from({ length: 20 }, source);
  out.push({
    kind: 'fixed-random',
    sources: replayers,
    run: async (port) => {
      for (const src of replayers) {
        for (let i = 0; i < 2; i++) await sendHello(port, withRandom(libraryHellos()[3]!.bytes, fixed), src);
        await sleep(between(20, 80));
      }
    },
  });
  // Hellos dripped a byte at a time, 2 ms apart, from 15 sources at once.
  const drippers = Array.from({ length: 15 }, source);
  out.push({
    kind: 'dripped-hello',
    sources: drippers,
    run: (port) => Promise.all(drippers.map((src) => sendHello(port, withRandom(curlHello()), src, { size: 1, ms: 2 }))).then(() => undefined),
  });
  // Suite enumeration from 15 sources, two hellos each.
  const scanners = Array.from({ length: 15 }, source);
  out.push({
    kind: 'scanner',
    sources: scanners,
    run: async (port) => {
      for (const src of scanners) for (let i = 0; i < 2; i++) await sendHello(port, scannerHello(), src);
    },
  });
  // Malware stacks, rebuilt from the JA3 strings trisul lists as malware.
  const malware = readFileSync(sharedDataPath('ja3/trisul_ja3fingerprint.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { desc: string; ja3_str: string })
    .filter((r) => /^malware/i.test(r.desc))
    .slice(0, 20);
  const infected = malware.map(() => source());
  out.push({
    kind: 'known-malware',
    sources: infected,
    run: async (port) => {
      for (let i = 0; i < malware.length; i++) {
        for (let k = 0; k < 2; k++) await sendHello(port, helloFromJa3(malware[i]!.ja3_str), infected[i]!);
        await sleep(between(20, 100));
      }
    },
  });
  // A browser User-Agent from a script's TLS stack: 15 clients, three connections each.
  const liars = Array.from({ length: 15 }, source);
  const ua = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
  out.push({
    kind: 'ua-mismatch',
    sources: liars,
    run: async (port) => {
      for (const src of liars) {
        for (let i = 0; i < 3; i++) {
          const agent = new Agent({ localAddress: src, connect: { rejectUnauthorized: false, servername: 'localhost' } });
          try {
            const res = await request(`https://127.0.0.1:${port}/`, { dispatcher: agent, headers: { 'user-agent': ua } });
            await res.body.dump();
          } catch {
            // refused
          } finally {
            await agent.close();
          }
          await sleep(between(50, 200));
        }
      }
    },
  });
  // A slow rotation: 60 sources sharing one home-made stack, one or two handshakes each.
  const rotation = Array.from({ length: 60 }, source);
  out.push({
    kind: 'rotation',
    sources: rotation,
    run: async (port) => {
      for (const src of rotation) {
        const n = rand() < 0.5 ? 1 : 2;
        for (let i = 0; i < n; i++) await sendHello(port, botHello(), src);
        await sleep(between(100, 300));
      }
    },
  });
  return out;
}
