// The endpoint's TLS listeners, held per address across plugin instances of one process. A
// reload builds the new instance while the old one still runs: instead of failing to bind the
// same address, the new instance joins the address's owners and, being the newest, gets every
// new channel (with its own certificate from then on). When an owner stops, the address passes
// back to the newest owner left, and closes with the last.
import { once } from 'node:events';
import { createServer, type SecureContextOptions, type Server, type TLSSocket } from 'node:tls';

export interface ChannelOwner {
  channel(socket: TLSSocket): void;
  handshakeFailed(err: NodeJS.ErrnoException, remote: string | undefined): void;
}

interface Held {
  readonly server: Server;
  /** Oldest first; the last one takes new channels, with its certificate. */
  owners: Array<{ owner: ChannelOwner; context: SecureContextOptions }>;
}

const held = new Map<string, Held>();

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly alpn: string;
}

/** Listens on host:port for `owner`, or takes over a listener an earlier owner holds there. Returns that earlier owner. */
export async function holdListener(o: ListenOptions, owner: ChannelOwner): Promise<ChannelOwner | undefined> {
  const key = `${o.host}:${o.port}`;
  const context: SecureContextOptions = { cert: o.cert, key: o.key, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' };
  const h = held.get(key);
  if (h) {
    h.server.setSecureContext(context);
    const previous = h.owners.at(-1)?.owner;
    h.owners.push({ owner, context });
    return previous;
  }
  const server = createServer({
    ...context,
    ALPNProtocols: [o.alpn],
    requestCert: true,
    // Edges are authenticated by their pinned fingerprint, not by a CA.
    rejectUnauthorized: false,
  });
  const entry: Held = { server, owners: [{ owner, context }] };
  server.on('secureConnection', (socket) => entry.owners.at(-1)?.owner.channel(socket));
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket) => entry.owners.at(-1)?.owner.handshakeFailed(err, socket.remoteAddress));
  server.listen(o.port, o.host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))]);
  held.set(key, entry);
  return undefined;
}

/**
 * `owner` lets go of host:port; returns the owner that has it now (undefined: closed — it takes
 * no new channel from now on; the ones it accepted are the owner's to close).
 */
export function releaseListener(host: string, port: number, owner: ChannelOwner): ChannelOwner | undefined {
  const key = `${host}:${port}`;
  const h = held.get(key);
  if (!h) return undefined;
  const wasCurrent = h.owners.at(-1)?.owner === owner;
  h.owners = h.owners.filter((x) => x.owner !== owner);
  const now = h.owners.at(-1);
  if (now) {
    if (wasCurrent) h.server.setSecureContext(now.context);
    return now.owner;
  }
  held.delete(key);
  h.server.close();
  return undefined;
}
