// What both roles agree on before a channel joins a session: the ALPN name of the channel
// protocol, the join proof, and how addresses are written (host:port, [v6]:port).
import { createHmac } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

export const ALPN = 'weaver-bond/1';
const EXPORTER_LABEL = 'EXPORTER-weaver-bond-join';

/** HMAC of this TLS connection's exported keying material under the session secret. */
export function joinProof(secret: Buffer, socket: TLSSocket): string {
  return createHmac('sha256', secret).update(socket.exportKeyingMaterial(32, EXPORTER_LABEL, Buffer.alloc(0))).digest('hex');
}

export function splitHostPort(hp: string): { host: string; port: number } {
  const at = hp.lastIndexOf(':');
  return { host: hp.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(hp.slice(at + 1)) };
}

