// Session-id and ticket behaviour across connections, with real node TLS clients: a client
// resuming with the ticket Weaver issued it is counted as resumed and stays unflagged; a client
// presenting a ticket or a session id Weaver never issued (taken from another server) is turned
// down every time, and after `signals.resumeFails` such attempts its hellos score as forged.
import { constants } from 'node:crypto';
import tls from 'node:tls';
import t from 'tap';
import { startWeaver } from '../support/weaver-harness.ts';
import { makeTestCert } from '../support/test-cert.ts';
import { adminJson, baeConfig, decisionFor, type Decision } from './support.ts';

const h = await startWeaver(baeConfig());
t.teardown(() => h.stop());

interface Explained {
  profile: { resumed: number; resumeFails: number };
  lastDecision: { features: { resumption: string } };
}

/**
 * One TLS connection from `localAddress`: the session Weaver issued (if any), whether it
 * resumed, and the local port (to find the decision). A handshake the strict pool refuses
 * (TLS 1.2 there) resolves with `ok: false`.
 */
function connect(port: number, localAddress: string, opts: tls.ConnectionOptions = {}): Promise<{ ok: boolean; session: Buffer | undefined; resumed: boolean; localPort: number }> {
  return new Promise((resolve) => {
    let session: Buffer | undefined;
    let localPort = 0;
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, localAddress, ...opts } as tls.ConnectionOptions);
    s.once('connect', () => (localPort = s.localPort ?? 0));
    s.on('session', (sess: Buffer) => (session = sess));
    s.once('secureConnect', () => {
      const resumed = s.isSessionReused();
      // TLS 1.3 tickets arrive after the handshake: give them a moment before closing.
      setTimeout(() => {
        s.end();
        resolve({ ok: true, session, resumed, localPort });
      }, 100);
    });
    s.once('error', () => resolve({ ok: false, session, resumed: false, localPort }));
  });
}

/** A session from a server that is not Weaver: its ticket (or session id) means nothing there. */
async function foreignSession(maxVersion: tls.SecureVersion, tickets: boolean): Promise<Buffer> {
  const { cert, key } = makeTestCert(['localhost']);
  const server = tls.createServer({ cert, key, ...(tickets ? {} : { secureOptions: constants.SSL_OP_NO_TICKET }) }, (s) => s.resume());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const got = await connect(port, '127.0.0.1', { maxVersion });
  await new Promise((r) => server.close(r));
  if (!got.session) throw new Error('the foreign server issued no session');
  return got.session;
}

t.test('a client resuming with the ticket it was issued', async (t) => {
  const src = '127.60.0.1';
  const first = await connect(h.port, src);
  t.ok(first.session, 'Weaver issued a ticket');
  let session = first.session!;
  for (let i = 0; i < 4; i++) {
    const again = await connect(h.port, src, { session });
    t.ok(again.resumed, `connection ${i + 2} resumed`);
    session = again.session ?? session;
    const d = await decisionFor(h.adminPort, src, again.localPort);
    t.equal(d.action, 'primary');
    t.notOk(d.reasons.some((r) => r.signal === 'forged-resumption'));
  }
  const e = await adminJson<Explained>(h.adminPort, `/explain?addr=${src}`);
  t.equal(e.profile.resumed, 4, 'four resumptions accepted');
  t.equal(e.profile.resumeFails, 0);
  t.equal(e.lastDecision.features.resumption, 'psk', 'a TLS 1.3 resumption is a PSK');
});

t.test('a TLS 1.3 client presenting a ticket Weaver never issued', async (t) => {
  const src = '127.60.1.1';
  const forged = await foreignSession('TLSv1.3', true);
  const decisions: Decision[] = [];
  for (let i = 0; i < 5; i++) {
    const c = await connect(h.port, src, { session: forged });
    t.notOk(c.resumed, `attempt ${i + 1} turned down`);
    decisions.push(await decisionFor(h.adminPort, src, c.localPort));
  }
  t.equal(decisions[0]!.action, 'primary', 'one turned-down ticket is what any client gets after a restart');
  const last = decisions.at(-1)!;
  t.ok(last.reasons.some((r) => r.signal === 'forged-resumption'), `reasons: ${last.reasons.map((r) => r.signal).join(',')}`);
  t.not(last.action, 'primary', 'after three turned-down attempts the client goes to the strict pool');
  const e = await adminJson<Explained>(h.adminPort, `/explain?addr=${src}`);
  t.ok(e.profile.resumeFails >= 4);
  t.equal(e.profile.resumed, 0);
});

t.test('a TLS 1.2 client presenting a session id Weaver never issued', async (t) => {
  const src = '127.60.2.1';
  const forged = await foreignSession('TLSv1.2', false);
  let last: Decision | undefined;
  for (let i = 0; i < 4; i++) {
    const c = await connect(h.port, src, { session: forged, maxVersion: 'TLSv1.2' });
    t.notOk(c.resumed, c.ok ? 'turned down' : 'refused by the strict pool (TLS 1.3 only)');
    last = await decisionFor(h.adminPort, src, c.localPort);
  }
  const e = await adminJson<Explained>(h.adminPort, `/explain?addr=${src}`);
  t.equal(e.lastDecision.features.resumption, 'session-id');
  t.ok(last!.reasons.some((r) => r.signal === 'forged-resumption'));
});
