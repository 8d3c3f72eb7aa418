// Peer: @fastify/http-proxy on fastify with `http2: true` and `https.allowHTTP1`, so one listener
// serves HTTP/1.1 and HTTP/2 like Weaver's. It reaches the origin through undici (reply-from's
// default: 128 connections, no pipelining), as Weaver does.
import { constants } from 'node:crypto';
import { exitOnSignals, peerRequire, serverArgs, tlsFiles } from './args.ts';

interface FastifyInstance {
  register(plugin: unknown, options: Record<string, unknown>): FastifyInstance;
  listen(options: { port: number; host: string }): Promise<string>;
  close(): Promise<void>;
}
type FastifyFactory = (options: Record<string, unknown>) => FastifyInstance;

const args = serverArgs();
const require = peerRequire(args);
const fastify = require('fastify') as FastifyFactory;
const proxy = require('@fastify/http-proxy') as unknown;

const app = fastify({
  logger: false,
  http2: true,
  https: { ...tlsFiles(args), allowHTTP1: true, secureOptions: constants.SSL_OP_NO_TICKET },
  keepAliveTimeout: 120_000,
  http2SessionTimeout: 120_000,
});
app.register(proxy, {
  upstream: `http://127.0.0.1:${args.originPort}`,
  replyOptions: {
    // reply-from copies the origin's hop-by-hop `connection: keep-alive` to the client, which
    // overrides a client's `Connection: close` (the handshake test's requests) and leaves the
    // connection open: drop it, as a proxy must (RFC 9110 §7.6.1).
    rewriteHeaders: (headers: Record<string, unknown>) => {
      const out = { ...headers };
      delete out.connection;
      delete out['keep-alive'];
      return out;
    },
    // The same forwarding headers the other targets add.
    rewriteRequestHeaders: (req: { ip: string }, headers: Record<string, unknown>) => ({
      ...headers,
      'x-forwarded-for': req.ip,
      'x-forwarded-proto': 'https',
    }),
  },
});
await app.listen({ port: args.port, host: '127.0.0.1' });
exitOnSignals(() => void app.close());
