// The analyzer and the engine together on real connections: a source that scans many
// destinations, and one that fails handshake after handshake, are isolated automatically —
// an isolate rule with a risk and an expiry, in the API and in the audit log — while others
// go on; the scanner's open connection is cut.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { startWeaver } from '../support/weaver-harness.ts';
import { admin, connectTls, httpsGet, segConfig, sleep, tryTls } from './support.ts';

const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
t.teardown(() => origin.close());

const OPTIONS = `
      analyzer: { scan: { distinctDestinations: 12 }, handshakeFailures: { count: 10 }, baseline: { enabled: false } }
      isolation: { priority: 500 }
`;

interface RuleView {
  id: string;
  action: string;
  risk: string;
  origin: string;
  expiresAt: string;
  reason: string;
}

async function ruleFor(adminPort: number, source: string): Promise<RuleView | undefined> {
  for (let i = 0; i < 50; i++) {
    const rules = await admin<{ rules: RuleView[] }>(adminPort, 'GET', '/rules?origin=analyzer');
    const r = rules.body.rules.find((x) => x.id === `iso-${source}`);
    if (r) return r;
    await sleep(20);
  }
  return undefined;
}

/** Sends bytes that are not a ClientHello and waits for the proxy to close the connection. */
function failedHandshake(port: number, localAddress: string): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress }, () => s.write(Buffer.from('16030100050100000100', 'hex')));
    s.on('error', () => undefined);
    s.on('close', () => resolve());
    s.resume();
  });
}

t.test('a scan across many destinations isolates the source and cuts its open flow', async (t) => {
  const h = await startWeaver(segConfig(OPTIONS, { upstreamPort: origin.port }));
  t.teardown(() => h.stop());
  const scanner = '127.80.0.1';
  const held = await connectTls(h.port, scanner, 'app.test');
  t.equal(await httpsGet(h.port, '127.80.0.2', 'app.test'), 200, 'a neighbour works');
  const answers = [];
  for (let i = 0; i < 14; i++) answers.push(await tryTls(h.port, scanner, `host${i}.scan.test`));
  t.comment(`scan answers: ${answers.join(' ')}`);
  const rule = await ruleFor(h.adminPort, scanner);
  t.match(rule, { action: 'isolate', origin: 'analyzer', risk: /^(medium|high)$/, reason: /^scan/ }, 'an isolate rule from the analyzer');
  t.ok(Date.parse(rule!.expiresAt) > Date.now(), 'with an expiry');
  const closed = await Promise.race([held.closed.then(() => true), sleep(2_000).then(() => false)]);
  t.ok(closed, 'the scanner\'s open connection was cut');
  t.equal(await tryTls(h.port, scanner, 'app.test'), 'refused', 'new connections from the scanner are refused');
  t.equal(await httpsGet(h.port, '127.80.0.2', 'app.test'), 200, 'the neighbour is not affected');
  const audit = readFileSync(join(h.weaver.config.stateDir, 'plugins/segmentation/segmentation-audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; who: string; rule?: { id: string; risk: string } });
  t.match(audit.find((r) => r.type === 'rule.add' && r.rule?.id === `iso-${scanner}`), { who: 'analyzer', rule: { risk: rule!.risk } }, 'the isolation is in the audit log');
});

t.test('a burst of failed handshakes isolates the source', async (t) => {
  const h = await startWeaver(segConfig(OPTIONS, { upstreamPort: origin.port }));
  t.teardown(() => h.stop());
  const noisy = '127.81.0.1';
  for (let i = 0; i < 10; i++) await failedHandshake(h.port, noisy);
  const rule = await ruleFor(h.adminPort, noisy);
  t.match(rule, { action: 'isolate', origin: 'analyzer', reason: /^handshake-failures/ });
  t.equal(await tryTls(h.port, noisy), 'refused', 'the source is refused from then on');
  t.equal(await httpsGet(h.port, '127.81.0.2'), 200, 'another source is not');
  const ev = await admin<{ decision: string; rule: { id: string } }>(h.adminPort, 'POST', '/evaluate', { src: noisy, sni: 'app.test' });
  t.match(ev.body, { decision: 'deny', rule: { id: `iso-${noisy}` } }, 'the dry-run names the isolate rule');
});
