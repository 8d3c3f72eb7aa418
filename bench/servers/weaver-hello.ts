// Weaver's listener with no plugins, doing what plain-tls.ts does: accept, read and parse the
// ClientHello, run the (empty) onConnection/onClientHello chains, hand the socket to the local
// pool's tls.Server, and after the handshake answer with the same canned response. Only the
// HTTP ingress is swapped for that canned answer, so the difference to plain-tls.ts is the cost
// of Weaver's ClientHello path.
import type { TLSSocket } from 'node:tls';
import { loadConfigFile } from '../../proxy/config/load.ts';
import { Weaver } from '../../proxy/weaver.ts';
import { CANNED_RESPONSE, exitOnSignals, serverArgs } from './args.ts';

const args = serverArgs();
if (!args.config) throw new Error('weaver-hello needs a config');
const weaver = await Weaver.start(await loadConfigFile(args.config));
const ingress = weaver.runtime.ingress;
ingress.serve = (socket: TLSSocket) => {
  socket.on('error', () => socket.destroy());
  socket.once('data', () => socket.end(CANNED_RESPONSE));
};
exitOnSignals(() => void weaver.stop(0));
