// The nftables export enforcing the policy on a Linux host: client — vfn — server namespaces,
// the ruleset from `weaver segmentation export` (config rules + a rule the API stored) loaded
// with `nft -f` in the vfn, and real TCP connections from several client addresses to several
// server ports; what passes must be exactly what the proxy's own dry-run allows.
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runWeaver } from '../support/run-weaver.ts';
import { startWeaver } from '../support/weaver-harness.ts';
import { buildLine } from './netns.ts';
import { admin, segConfig } from './support.ts';

const skip = process.getuid?.() === 0 ? false : 'needs root for network namespaces';

const OPTIONS = `
      segments:
        clients: { cidrs: [198.18.1.0/24] }
        trusted: { cidrs: [198.18.1.3/32] }
        servers: { cidrs: [198.18.2.0/24], posture: allow-list }
      rules:
        - { id: web, from: { segment: clients }, to: { segment: servers, port: 8080 }, action: allow }
        - { id: trusted-admin, from: { segment: trusted }, to: { segment: servers, port: 8081 }, action: allow, priority: 5 }
        - { id: banned, from: { cidr: 198.18.1.4 }, action: deny, priority: 10 }
        - { id: quarantine, from: { cidr: 198.18.1.5 }, action: isolate, priority: 10, reason: "analyzer: scan" }
        - { id: no-ssh, to: { port: 2222 }, action: deny, priority: 20 }
`;
const HOSTS = [2, 3, 4, 5, 6];
const PORTS = [8080, 8081, 2222, 9000];

t.test('the exported ruleset enforces the proxy decisions on real TCP traffic', { skip }, async (t) => {
  const h = await startWeaver(segConfig(OPTIONS));
  let stopped = false;
  t.teardown(() => (stopped ? undefined : h.stop()));
  t.equal((await admin(h.adminPort, 'POST', '/rules', { id: 'api-deny', from: { cidr: '198.18.1.6/32' }, to: { port: 8080 }, action: 'deny', priority: 10 })).status, 201);

  const expected = new Map<string, string>();
  for (const host of HOSTS) {
    for (const port of PORTS) {
      const r = await admin<{ decision: string; by: string }>(h.adminPort, 'POST', '/evaluate', { src: `198.18.1.${host}`, dst: '198.18.2.2', port });
      expected.set(`198.18.1.${host}:${port}`, r.body.decision);
    }
  }
  t.ok([...expected.values()].includes('allow') && [...expected.values()].includes('deny'), 'the flows cover both outcomes');
  const fromApi = (await admin<string>(h.adminPort, 'GET', '/export?format=nft')).body;
  const config = join(h.dir, 'weaver.yaml');
  await h.weaver.stop(1_000);
  stopped = true;

  const cli = await runWeaver(['segmentation', 'export', '--format', 'nft', '-c', config]);
  t.equal(cli.code, 0, cli.stderr);
  const body = (s: string) => s.split('\n').slice(1).join('\n');
  t.equal(body(cli.stdout), body(fromApi), 'the CLI (config + stored rules) and the API export the same ruleset');
  t.match(cli.stdout, /rule api-deny/, 'the rule the API stored is in the CLI export');
  const rulesetFile = join(h.dir, 'seg.nft');
  writeFileSync(rulesetFile, cli.stdout);

  const line = buildLine(HOSTS);
  t.teardown(() => {
    line.remove();
    return h.stop();
  });
  line.run(line.vfn, ['nft', '-f', rulesetFile]);
  t.match(line.run(line.vfn, ['nft', 'list', 'table', 'inet', 'weaver_seg']), /chain forward/);

  const server = line.spawn(line.srv, [
    process.execPath,
    '-e',
    `const net = require('node:net'); let n = 0; for (const p of ${JSON.stringify(PORTS)}) net.createServer((s) => s.end('hi')).listen(p, '0.0.0.0', () => ++n === ${PORTS.length} && console.log('ready'));`,
  ]);
  await once(server.stdout!, 'data');

  const attempts = HOSTS.flatMap((host) => PORTS.map((port) => ({ src: `198.18.1.${host}`, port })));
  const probe = `
const net = require('node:net');
const tries = ${JSON.stringify(attempts)};
Promise.all(tries.map(({ src, port }) => new Promise((resolve) => {
  const s = net.connect({ host: '${line.serverAddr}', port, localAddress: src });
  let got = '';
  const done = (r) => { s.destroy(); resolve([src + ':' + port, r]); };
  s.on('data', (d) => { got += d; if (got === 'hi') done('allow'); });
  s.on('error', () => done('deny'));
  s.setTimeout(800, () => done('deny'));
}))).then((r) => console.log(JSON.stringify(Object.fromEntries(r))));`;
  const seen = JSON.parse(line.run(line.cli, [process.execPath, '-e', probe])) as Record<string, string>;
  for (const [flow, decision] of expected) t.equal(seen[flow], decision, `${flow}: proxy says ${decision}`);

  // Without the ruleset everything passes, so the drops above are the ruleset's doing.
  line.run(line.vfn, ['nft', 'delete', 'table', 'inet', 'weaver_seg']);
  const open = JSON.parse(line.run(line.cli, [process.execPath, '-e', probe])) as Record<string, string>;
  t.ok(Object.values(open).every((d) => d === 'allow'), 'with no ruleset every flow passes');
});
