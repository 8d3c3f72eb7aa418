// What every server script of the bench gets: one JSON argument, so the scripts need no flags.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export interface ServerArgs {
  port: number;
  /** The origin every proxy forwards to: http://127.0.0.1:<originPort>. */
  originPort: number;
  cert: string;
  key: string;
  /** bench/peers, where the Node peers are installed. */
  peersDir: string;
  /** A Weaver config file (Weaver-based servers only). */
  config?: string;
}

export function serverArgs(): ServerArgs {
  const raw = process.argv[2];
  if (!raw) throw new Error('usage: node <server>.ts \'{"port":…}\'');
  return JSON.parse(raw) as ServerArgs;
}

export function tlsFiles(args: ServerArgs): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(args.cert), key: readFileSync(args.key) };
}

/** `require` that resolves from bench/peers/node_modules (the peers are not project dependencies). */
export function peerRequire(args: ServerArgs): NodeJS.Require {
  return createRequire(join(args.peersDir, 'package.json'));
}

/** The reply of the handshake-only servers: the same 1 KiB body as the origin, then close. */
export const CANNED_RESPONSE = Buffer.from(
  `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1024\r\nconnection: close\r\n\r\n${'x'.repeat(1024)}`,
);

/** Exit quietly on SIGTERM/SIGINT. */
export function exitOnSignals(close?: () => void): void {
  const stop = () => {
    try {
      close?.();
    } finally {
      process.exit(0);
    }
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
