// The example plugin, loaded from YAML by path, sees every phase in order on a real connection.
import t from 'tap';
import { Agent, request } from 'undici';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { startWeaver, repoRoot } from '../../test/support/weaver-harness.ts';

const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
t.teardown(() => origin.close());

function config(packets: boolean, deny: string[] = []): string {
  return `
listeners: [{ name: https, port: 0 }]
handshakePools:
  primary: { kind: local, certificates: [{ dev: true, hosts: [localhost] }] }
routes: [{ match: { pathPrefix: / }, upstream: origin }]
upstreams:
  origin:
    servers:
      - { url: "http://127.0.0.1:${origin.port}", labels: [plain] }
      - { url: "http://localhost:${origin.port}", labels: [preferred] }
plugins:
  - use: ${repoRoot}examples/phase-tracer/index.ts
    options: { preferLabel: preferred, packets: ${packets}, denyAddresses: ${JSON.stringify(deny)} }
admin: { port: 0 }
`;
}

const PHASES = ['onConnection', 'onClientHello', 'onHandshakeDone', 'onRequest', 'onUpstreamSelect', 'onResponse', 'onClose'];

async function adminGet(port: number, path: string): Promise<unknown> {
  const res = await request(`http://127.0.0.1:${port}${path}`);
  return res.body.json();
}

for (const packets of [false, true]) {
  t.test(`every phase in order (onPacket ${packets ? 'on' : 'off'})`, async (t) => {
    const h = await startWeaver(config(packets));
    t.teardown(() => h.stop());
    // One connection, so both requests show up on the same trace.
    const agent = new Agent({ connections: 1, connect: { rejectUnauthorized: false } });
    const res = await request(`https://localhost:${h.port}/`, { dispatcher: agent });
    t.equal(res.statusCode, 200);
    t.match(await res.body.text(), /Weaver demo origin/);

    const own = await request(`https://localhost:${h.port}/_tracer`, { dispatcher: agent });
    const live = (await own.body.json()) as { phases: string[]; ja4: string };
    t.match(live.ja4, /^t1[23]d/, 'the plugin saw the JA4 in onClientHello');
    await agent.close();

    let recent: Array<{ phases: string[]; bytes: { in: number; out: number }; summary: { requests: number } }> = [];
    for (let i = 0; i < 50 && recent.length === 0; i++) {
      recent = (await adminGet(h.adminPort, '/api/plugins/phase-tracer/recent')) as typeof recent;
      if (recent.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    t.equal(recent.length, 1, 'one finished connection recorded');
    const seen = recent[0]!;
    const firstSeen = [...new Set(seen.phases.filter((p) => p !== 'onPacket'))];
    t.same(firstSeen, PHASES, 'phases first ran in the documented order');
    t.equal(seen.summary.requests, 2, 'onClose summary counts both requests');
    if (packets) {
      t.ok(seen.phases.includes('onPacket'), 'onPacket ran');
      t.ok(seen.bytes.in > 0 && seen.bytes.out > 0, 'onPacket saw bytes both ways');
    } else t.notOk(seen.phases.includes('onPacket'), 'no onPacket when the plugin does not register it');

    const plugins = (await adminGet(h.adminPort, '/api/plugins')) as Array<{ name: string; phases: string[] }>;
    t.equal(plugins[0]!.name, 'phase-tracer');
    t.ok(plugins[0]!.phases.includes('onUpstreamSelect'));
    const metrics = await (await request(`http://127.0.0.1:${h.adminPort}/metrics`)).body.text();
    t.match(metrics, /weaver_phase_tracer_phases_total\{phase="onRequest"\} 2/, "the plugin's metric is on /metrics");
  });
}

t.test('onConnection can refuse an address', async (t) => {
  const h = await startWeaver(config(false, ['127.0.0.1']));
  t.teardown(() => h.stop());
  const agent = new Agent({ connect: { rejectUnauthorized: false } });
  t.teardown(() => agent.close());
  await t.rejects(request(`https://127.0.0.1:${h.port}/`, { dispatcher: agent }));
  await h.waitForLog((l) => l.msg === 'connection rejected' && l.phase === 'connection');
});
