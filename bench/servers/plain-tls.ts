// Baseline for the ClientHello path: a plain node:tls server that listens itself, completes the
// handshake on node's native path and answers the first bytes with a canned 1 KiB response.
// weaver-hello.ts is the same thing behind Weaver's listener.
import { constants } from 'node:crypto';
import tls from 'node:tls';
import { CANNED_RESPONSE, exitOnSignals, serverArgs, tlsFiles } from './args.ts';

const args = serverArgs();
const server = tls.createServer(
  {
    ...tlsFiles(args),
    ALPNProtocols: ['h2', 'http/1.1'],
    secureOptions: constants.SSL_OP_NO_TICKET,
    handshakeTimeout: 10_000,
    // Like Weaver's listener (and node's http servers): no Nagle delay on the handshake flights.
    noDelay: true,
  },
  (socket) => {
    socket.on('error', () => socket.destroy());
    socket.once('data', () => socket.end(CANNED_RESPONSE));
  },
);
server.on('tlsClientError', (_err, socket) => socket.destroy());
server.listen(args.port, '127.0.0.1');
exitOnSignals(() => server.close());
