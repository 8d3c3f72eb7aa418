// An https origin behind the bonded session: the edge speaks TLS to the origin through the
// bonded stream (the endpoint only relays bytes), over HTTP/1.1 and over HTTP/2, and health
// checks go through the session too.
import { once } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { makeTestCert } from '../support/test-cert.ts';
import { startWeaver } from '../support/weaver-harness.ts';
import { BLOB, BLOB_SHA, PLUGIN, channelsUp, client, freePort, sha256, startEndpoint, testCerts } from './support.ts';

const cert = makeTestCert(['origin.test', '127.0.0.1']);
const seen: string[] = [];
const origin = http2.createSecureServer({ cert: cert.cert, key: cert.key, allowHTTP1: true }, (req, res) => {
  seen.push(`${req.httpVersion} ${req.url}`);
  if (req.url === '/blob') return void res.end(BLOB);
  res.end(`hello over ${req.httpVersion}`);
});
origin.listen(0, '127.0.0.1');
await once(origin, 'listening');
t.teardown(() => new Promise<void>((r) => origin.close(() => r())));
const originPort = (origin.address() as AddressInfo).port;

const port = await freePort('127.0.0.2');
await startEndpoint(t, { listen: [`127.0.0.2:${port}`, `127.0.0.3:${port}`], allow: [`127.0.0.1:${originPort}`] });
const c = testCerts();

for (const http2on of [false, true]) {
  t.test(http2on ? 'HTTP/2 over TLS over the bond' : 'HTTP/1.1 over TLS over the bond', async (t) => {
    const edge = await startWeaver(`
listeners: [{ name: https, port: 0 }]
handshakePools: { primary: { kind: local, certificates: [{ cert: ${c.edge.certFile}, key: ${c.edge.keyFile} }] } }
routes: [{ match: { pathPrefix: / }, upstream: origin }]
upstreams:
  origin:
    servers: [{ url: "https://127.0.0.1:${originPort}", via: "bond:main" }]
    tlsInsecure: true
    http2: ${http2on}
    healthCheck: { path: /health, intervalMs: 200 }
admin: { port: 0 }
log: { accessLog: false }
plugins:
  - use: ${PLUGIN}
    options:
      edge:
        certificate: ${c.edge.certFile}
        key: ${c.edge.keyFile}
        sessions:
          - name: main
            peerCertificates: [${c.endpoint.certFile}]
            channels:
              - { name: a, remote: "127.0.0.2:${port}" }
              - { name: b, remote: "127.0.0.3:${port}" }
`);
    t.teardown(() => edge.stop());
    await channelsUp(edge, 2);
    const cl = client(t, edge);
    const hello = await cl.get('/');
    t.equal(hello.status, 200);
    t.equal(hello.body.toString(), `hello over ${http2on ? '2.0' : '1.1'}`);
    const blob = await cl.get('/blob');
    t.equal(sha256(blob.body), BLOB_SHA, '8 MiB intact');
    await new Promise((r) => setTimeout(r, 500));
    t.ok(seen.some((s) => s.endsWith('/health')), 'health probes reached the origin through the session');
  });
}
