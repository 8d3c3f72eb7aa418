// Peer: node-http-proxy (`http-proxy` on npm) behind node's https server, one process, keep-alive
// agent to the origin. It has no HTTP/2 support, so it sits out the HTTP/2 test.
import { constants } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { exitOnSignals, peerRequire, serverArgs, tlsFiles } from './args.ts';

interface HttpProxy {
  web(req: http.IncomingMessage, res: http.ServerResponse): void;
  on(event: 'error', listener: (err: Error, req: http.IncomingMessage, res: http.ServerResponse | unknown) => void): void;
}
interface HttpProxyModule {
  createProxyServer(options: Record<string, unknown>): HttpProxy;
}

const args = serverArgs();
const httpProxy = peerRequire(args)('http-proxy') as HttpProxyModule;
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${args.originPort}`, agent, xfwd: true });
proxy.on('error', (_err, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) {
    res.writeHead(502);
    res.end();
  } else if (res instanceof http.ServerResponse) res.destroy();
});

const server = https.createServer(
  {
    ...tlsFiles(args),
    secureOptions: constants.SSL_OP_NO_TICKET,
    keepAliveTimeout: 120_000,
    headersTimeout: 120_000,
    requestTimeout: 300_000,
  },
  (req, res) => proxy.web(req, res),
);
server.listen(args.port, '127.0.0.1');
exitOnSignals(() => server.close());
