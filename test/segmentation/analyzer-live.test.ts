// The analyzer on real connections through a real Weaver: flow records built in onClose carry
// the source, SNI, JA4, bytes, requests, status mix and handshake outcome, and a burst of
// connections that never complete a handshake is reported as an anomaly.
import t from 'tap';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import type { AnomalyEvent } from '../../plugins/segmentation/analyzer/analyzer.ts';
import type { FlowRecord } from '../../plugins/segmentation/analyzer/flow.ts';
import { repoRoot, startWeaver } from '../support/weaver-harness.ts';

const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
t.teardown(() => origin.close());
const h = await startWeaver(`
listeners: [{ name: https, address: 127.0.0.1, port: 0, pool: primary, clientHello: { timeoutMs: 2000 } }]
handshakePools:
  primary:
    kind: local
    certificates: [{ dev: true, hosts: [localhost, app.seg.test] }]
routes: [{ name: demo, match: { pathPrefix: / }, upstream: demo }]
upstreams: { demo: { servers: [{ url: "http://127.0.0.1:${origin.port}" }] } }
plugins:
  - use: ${repoRoot}test/fixtures/plugins/seg-flow-recorder.ts
    options: { baseline: { enabled: false }, handshakeFailures: { count: 10, rate: 0.8 } }
admin: { port: 0 }
`);
t.teardown(() => h.stop());

const admin = async <T>(path: string): Promise<T> => (await (await request(`http://127.0.0.1:${h.adminPort}/api/plugins/seg-flow-recorder${path}`)).body.json()) as T;

async function waitFor<T>(fn: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(30);
  }
  throw new Error(`timed out waiting for ${what}`);
}

t.test('an HTTPS client with several requests becomes one flow record', async (t) => {
  const agent = new Agent({ connections: 1, connect: { rejectUnauthorized: false, servername: 'app.seg.test' } });
  const base = `https://127.0.0.1:${h.port}`;
  for (const path of ['/', '/bytes/20000', '/status/404', '/status/503']) await (await request(`${base}${path}`, { dispatcher: agent })).body.dump();
  await agent.close();
  const flow = await waitFor(async () => (await admin<FlowRecord[]>('/flows')).find((f) => f.sni === 'app.seg.test'), 'the flow');
  t.match(flow, {
    source: '127.0.0.1', segment: 'office', destination: 'app.seg.test', port: h.port, handshake: 'ok', requests: 4,
    statuses: { s2xx: 2, s4xx: 1, s5xx: 1 }, errors: 0, ja4: /^t1[23]d/,
  });
  t.ok(flow.bytesOut > 20_000, `bytesOut ${flow.bytesOut}`);
  t.ok(flow.bytesIn > 200 && flow.durationMs >= 0);
});

t.test('a burst of failed handshakes from one source is reported', async (t) => {
  // Half a ClientHello's worth of garbage, then close: the proxy never completes a handshake.
  for (let i = 0; i < 12; i++) {
    const s = net.connect(h.port, '127.0.0.1');
    await once(s, 'connect');
    s.resume();
    s.end(Buffer.from('16030100050100000100', 'hex'));
    await once(s, 'close');
  }
  // And TLS clients that give up on the certificate (an unknown CA): handshake_error.
  const refused = tls.connect({ host: '127.0.0.1', port: h.port, servername: 'app.seg.test' });
  await once(refused, 'error');
  const anomaly = await waitFor(async () => (await admin<AnomalyEvent[]>('/anomalies'))[0], 'an anomaly');
  t.match(anomaly, { source: '127.0.0.1', segment: 'office', detector: 'handshake-failures', risk: 'medium', reasons: [/^handshake failures: 10 of \d+ connections in 10 s$/] });
  const failed = (await admin<FlowRecord[]>('/flows')).filter((f) => f.handshake === 'failed');
  t.ok(failed.length >= 10, `${failed.length} failed flows recorded`);
  t.match(failed[0], { source: '127.0.0.1', destination: '127.0.0.1', requests: 0 });
});
