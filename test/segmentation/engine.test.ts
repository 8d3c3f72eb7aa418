// The rule engine's semantics without sockets: decisions at each phase of a flow (a rule that
// needs a later phase's field leaves the decision pending instead of guessing), the tie-breaks,
// isolation's exemption, name and tag segments, IPv4-mapped and IPv6 addresses, one change at
// a time.
import t from 'tap';
import { Controller } from '../../plugins/segmentation/controller.ts';
import type { Flow } from '../../plugins/segmentation/policy.ts';

function engine(): Controller {
  const ctl = new Controller({ maxRules: 100, cutLiveFlows: false, maxDenyKeys: 10 });
  ctl.engine.addSegment('web', { hosts: ['*.example.com', 'example.org'], cidrs: ['10.9.0.0/16'] }, 'config');
  ctl.engine.addSegment('staff', { cidrs: ['10.1.0.0/16', '2001:db8:1::/48'], identities: ['alice'], tags: ['bae.class=human'] }, 'config');
  ctl.engine.addSegment('vault', { cidrs: ['10.5.0.0/24'], hosts: ['vault.example.net'], posture: 'allow-list' }, 'config');
  ctl.engine.addSegment('bots', { ja4: ['t13d1516h2_8daaf6152771_02713d6af862'] }, 'config');
  return ctl;
}
const flow = (f: Partial<Flow> & { src: string }): Flow => ({ stage: 3, ...f });

t.test('posture, members and names', async (t) => {
  const ctl = engine();
  const ev = (f: Partial<Flow> & { src: string }) => ctl.evaluate(flow(f));
  t.match(ev({ src: '10.5.0.7', sni: 'vault.example.net' }), { verdict: 'allow', by: 'default' }, 'a member by address');
  t.match(ev({ src: '10.6.0.7', sni: 'vault.example.net' }), { verdict: 'deny', by: 'posture:vault' });
  t.match(ev({ src: '10.6.0.7', dst: '10.5.0.1' }), { verdict: 'deny', by: 'posture:vault' }, 'into the segment by address');
  t.match(ev({ src: '10.6.0.7', host: 'VAULT.example.net'.toLowerCase() }), { verdict: 'deny' }, 'by Host when there is no SNI');
  t.match(ev({ src: '::ffff:10.5.0.7', sni: 'vault.example.net' }), { verdict: 'allow' }, 'an IPv4-mapped source is its IPv4 address');
  ctl.addRule({ id: 'staff-web', from: { segment: 'staff' }, to: { segment: 'web' }, action: 'deny' }, 'admin:test');
  t.match(ev({ src: '10.1.2.3', sni: 'a.b.example.com' }), { verdict: 'deny', by: 'rule:staff-web' }, 'wildcard host');
  t.match(ev({ src: '10.1.2.3', sni: 'example.com' }), { verdict: 'allow' }, '*.example.com does not cover example.com');
  t.match(ev({ src: '2001:db8:1::9', sni: 'example.org' }), { verdict: 'deny' }, 'IPv6 member');
  t.match(ev({ src: '10.2.0.1', identities: ['alice'], sni: 'example.org' }), { verdict: 'deny' }, 'member by certificate identity');
  t.match(ev({ src: '10.2.0.1', tags: { 'bae.class': 'human' }, sni: 'example.org' }), { verdict: 'deny' }, 'member by tag');
  t.match(ev({ src: '10.2.0.1', tags: { 'bae.class': 'bot' }, sni: 'example.org' }), { verdict: 'allow' });
});

t.test('a decision waits for the phase that can make it', async (t) => {
  const ctl = engine();
  ctl.addRule({ id: 'deny-all-staff', from: { segment: 'staff' }, action: 'deny', priority: 1 }, 'admin:test');
  ctl.addRule({ id: 'staff-web-ok', from: { segment: 'staff' }, to: { segment: 'web' }, action: 'allow', priority: 5 }, 'admin:test');
  const f: Flow = { src: '10.1.0.1', dst: '127.0.0.1', port: 443, stage: 0 };
  t.match(ctl.evaluate(f), { verdict: 'pending', by: 'rule:staff-web-ok' }, 'at accept the host is unknown and an allow above the deny may still match');
  f.stage = 1;
  f.sni = 'shop.example.com';
  t.match(ctl.evaluate(f), { verdict: 'allow', by: 'rule:staff-web-ok' });
  f.sni = 'elsewhere.net';
  t.match(ctl.evaluate(f), { verdict: 'deny', by: 'rule:deny-all-staff' });

  // The certificate is only known after the handshake: a deny for a member by identity waits.
  ctl.addRule({ id: 'staff-443', from: { segment: 'staff' }, to: { port: 443 }, action: 'deny', priority: 9 }, 'admin:test');
  const g: Flow = { src: '10.7.0.1', dst: '127.0.0.1', port: 443, stage: 1, sni: 'shop.example.com' };
  t.match(ctl.evaluate(g), { verdict: 'pending', by: 'rule:staff-443' }, 'the source may still prove a member by its certificate');
  g.stage = 2;
  g.identities = ['bob'];
  t.match(ctl.evaluate(g), { verdict: 'allow', by: 'default' });
  g.identities = ['alice'];
  t.match(ctl.evaluate(g), { verdict: 'deny', by: 'rule:staff-443' });

  const r: Flow = { src: '10.8.0.1', stage: 2 };
  ctl.addRule({ id: 'no-admin-route', to: { route: 'admin' }, action: 'deny', priority: 50 }, 'admin:test');
  t.match(ctl.evaluate(r), { verdict: 'pending' }, 'a route rule waits for the request');
  r.stage = 3;
  r.route = 'public';
  t.match(ctl.evaluate(r), { verdict: 'allow' });
  r.route = 'admin';
  t.match(ctl.evaluate(r), { verdict: 'deny', by: 'rule:no-admin-route' });
});

t.test('ties, isolation, flags, expiry and removal', async (t) => {
  const ctl = engine();
  ctl.addRule({ id: 'a', from: { cidr: '10.1.0.0/16' }, action: 'allow', priority: 3 }, 'x');
  ctl.addRule({ id: 'd', from: { cidr: '10.1.2.0/24' }, action: 'deny', priority: 3 }, 'x');
  t.match(ctl.evaluate(flow({ src: '10.1.2.3' })), { by: 'rule:d' }, 'deny wins a tie');
  ctl.addRule({ id: 'iso', from: { cidr: '10.9.1.1' }, action: 'isolate', priority: 10 }, 'analyzer');
  t.match(ctl.evaluate(flow({ src: '10.9.1.1', dst: '10.9.0.5' })), { verdict: 'allow' }, 'isolation keeps the source\'s own segment reachable');
  t.match(ctl.evaluate(flow({ src: '10.9.1.1', dst: '10.5.0.5' })), { verdict: 'deny', by: 'rule:iso' });
  ctl.addRule({ id: 'f', from: { segment: 'bots' }, action: 'flag' }, 'feed:x');
  const d = ctl.evaluate(flow({ src: '10.3.0.1', ja4: 't13d1516h2_8daaf6152771_02713d6af862' }));
  t.match(d, { verdict: 'allow' });
  t.same(d.flags.map((r) => r.id), ['f']);
  ctl.addRule({ id: 'gone', from: { cidr: '10.4.0.1' }, action: 'deny', expiresAt: new Date(Date.now() - 1).toISOString() }, 'x');
  t.match(ctl.evaluate(flow({ src: '10.4.0.1' })), { verdict: 'allow' }, 'an expired rule does not apply even before the sweep');
  t.equal(ctl.sweep(), 1);
  ctl.deleteRule('d', 'x');
  t.match(ctl.evaluate(flow({ src: '10.1.2.3' })), { by: 'rule:a' });
  t.ok(ctl.addEntry('staff', 'cidr', '10.4.0.0/24', 'x'));
  t.notOk(ctl.addEntry('staff', 'cidr', '10.4.0.9/24', 'x'), 'the same prefix, normalized, is not added twice');
  t.ok(ctl.deleteEntry('staff', 'cidr', '10.4.0.0/24', 'x'));
  t.throws(() => ctl.deleteEntry('staff', 'cidr', '10.1.0.0/16', 'x'), { code: 'WEAVER_ERR_SEG_READONLY' });
});

t.test('list entries are bounded across segments', async (t) => {
  const ctl = new Controller({ maxRules: 10, maxEntries: 4, cutLiveFlows: false, maxDenyKeys: 10 });
  ctl.engine.addSegment('a', { cidrs: ['10.0.0.0/24', '10.0.1.0/24'] }, 'config');
  ctl.engine.addSegment('b', { hosts: ['b.example'] }, 'config');
  t.ok(ctl.addEntry('b', 'host', 'c.example', 'admin:test'), 'the fourth entry fits');
  t.throws(() => ctl.addEntry('a', 'cidr', '10.0.2.0/24', 'admin:test'), { code: 'WEAVER_ERR_SEG_LIMIT' }, 'the fifth, in any segment, does not');
  t.notOk(ctl.addEntry('a', 'cidr', '10.0.1.7/24', 'admin:test'), 'at the limit, an entry already there is still no change');
  t.throws(() => ctl.addEntry('a', 'cidr', 'not-a-prefix', 'admin:test'), { code: 'WEAVER_ERR_SEG_ENTRY' }, 'and a bad value still a bad value');
  t.ok(ctl.deleteEntry('b', 'host', 'c.example', 'admin:test'));
  t.ok(ctl.addEntry('a', 'cidr', '10.0.2.0/24', 'admin:test'), 'a deleted entry makes room');
});
