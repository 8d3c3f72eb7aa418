// In-process cost of bae's hot path, stage by stage, on a real node ClientHello: parsing,
// JA3/JA4 (memoised per hello shape), the engine's analysis of a hello from a known and from a
// new source, and what a handshake leaves on the heap. Cheaper and steadier than the end-to-end
// cost in `npm run eval:bae -- cost` (which counts everything a Weaver process does), to see
// which stage a change moved; and the same under a cold cache, which is what a loaded server
// pays. Run: node --expose-gc eval/bae/hot-path.ts
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { Value } from '@sinclair/typebox/value';
import type { ConnectionContext } from 'weaver';
import { LazyHelloInfo } from '../../proxy/clienthello/hello-info.ts';
import { parseClientHello } from '../../proxy/clienthello/parse.ts';
import { Engine, newConnState } from '../../plugins/bae/engine.ts';
import { FingerprintLists } from '../../plugins/bae/lists.ts';
import { BaeOptions } from '../../plugins/bae/options.ts';
import { createTelemetry } from '../../plugins/bae/telemetry.ts';
import { sharedDataPath } from '../../test/support/shared-data.ts';
import type { PluginMetrics } from 'weaver';

const hello: Buffer = await new Promise((resolve) => {
  const server = net.createServer((s) => s.once('data', (d: Buffer) => (resolve(d), s.destroy(), server.close())));
  server.listen(0, '127.0.0.1', () => {
    const c = tls.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    c.on('error', () => undefined);
  });
});
// 64 copies with their own client random, as connections of one stack would be.
const hellos = Array.from({ length: 64 }, () => {
  const copy = Buffer.from(hello);
  for (let k = 11; k < 43; k++) copy[k] = Math.floor(Math.random() * 256);
  return copy;
});
const arrival = { acceptToFirstByteMs: 1, acceptToCompleteMs: 1.5, reads: 1, gapsMs: [], records: 1 };

const N = 20_000;
function stage(name: string, fn: (i: number) => unknown): void {
  for (let i = 0; i < 3_000; i++) fn(i);
  const start = process.cpuUsage();
  for (let i = 0; i < N; i++) fn(i);
  const used = process.cpuUsage(start);
  process.stdout.write(`${name.padEnd(34)} ${((used.user + used.system) / N).toFixed(2)} µs CPU\n`);
}

const o = Value.Default(BaeOptions, { lists: [], observeOnly: true, threshold: 0.99, rejectThreshold: 0.99, model: { minSamples: 300 } }) as BaeOptions;
const lists = new FingerprintLists();
for (const f of ['ja3/sslbl_ja3_fingerprints.csv', 'ja3/salesforce_osx-nix-ja3.csv', 'ja3/trisul_ja3fingerprint.jsonl', 'ja4/ja4plus-mapping.csv', 'ja4/ja4db_verified.json']) {
  lists.load({ file: sharedDataPath(f) }, '/');
}
const noop = (): void => undefined;
const metric = { inc: noop, set: noop, observe: noop };
const metrics = { counter: () => metric, gauge: () => metric, histogram: () => metric } as unknown as PluginMetrics;
const engine = new Engine(o, lists, createTelemetry(metrics));
let seq = 0;
const conn = (i: number): ConnectionContext =>
  ({ id: `c${seq++}`, remoteAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, remotePort: 40_000, tags: {}, tag: noop }) as unknown as ConnectionContext;
const info = (i: number) => new LazyHelloInfo(parseClientHello(hellos[i & 63]!), arrival);

for (let i = 0; i < 500; i++) engine.analyze(conn(i & 255), info(i), newConnState());
await engine.retrain('admin');

stage('parse', (i) => parseClientHello(hellos[i & 63]!));
stage('parse + JA4 + JA3 (memoised)', (i) => {
  const h = info(i);
  return h.ja4 + h.ja3;
});
stage('parse + analyze, 256 known sources', (i) => engine.analyze(conn(i & 255), info(i), newConnState()));
let fresh = 1 << 20;
stage('parse + analyze, a new source each', () => engine.analyze(conn(fresh++), info(fresh), newConnState()));

// In a loaded server OpenSSL and node run between two handshakes and leave bae's tables, and
// its code, out of the caches: here 16 MiB are swept between calls. Wall time of each call,
// median of 3,000.
const sweep = new Uint8Array(16 << 20);
let sink = 0;
for (const [name, fn] of [
  ['parse, cold cache', (i: number) => parseClientHello(hellos[i & 63]!)],
  ['parse + analyze, new source, cold', (i: number) => engine.analyze(conn(fresh++), info(i), newConnState())],
] as const) {
  const took: number[] = [];
  for (let i = 0; i < 3_000; i++) {
    for (let k = 0; k < sweep.length; k += 64) sink += sweep[k]!++;
    const t0 = performance.now();
    fn(i);
    took.push(performance.now() - t0);
  }
  took.sort((a, b) => a - b);
  process.stdout.write(`${name.padEnd(34)} ${(took[1_500]! * 1000).toFixed(2)} µs wall${sink < 0 ? '' : ''}\n`);
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc) {
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let k = 0; k < N; k++) engine.analyze(conn(fresh++), info(k), newConnState());
  gc();
  process.stdout.write(`${'heap kept per new source'.padEnd(34)} ${((process.memoryUsage().heapUsed - before) / N).toFixed(0)} bytes\n`);
}
