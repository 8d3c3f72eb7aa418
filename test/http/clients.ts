// Real clients for the HTTP tests: node's http2 and https, and curl.
import { execFile } from 'node:child_process';
import http2, { type OutgoingHttpHeaders } from 'node:http2';
import https from 'node:https';
import { Readable, pipeline } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * One request on a fresh HTTP/2 session. A body goes out in 64 KiB pieces with backpressure:
 * one large write would count whole against the client session's memory limit.
 */
export function h2Request(origin: string, path: string, opts: { method?: string; headers?: OutgoingHttpHeaders; body?: Buffer } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(origin, { rejectUnauthorized: false });
    session.on('error', reject);
    const stream = session.request({ ':method': opts.method ?? 'GET', ':path': path, ...opts.headers }, { endStream: opts.body === undefined });
    const chunks: Buffer[] = [];
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    stream.on('response', (h) => {
      status = Number(h[':status']);
      headers = h as IncomingHttpHeaders;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', (err) => {
      session.destroy();
      reject(err);
    });
    stream.on('end', () => {
      session.close();
      resolve({ status, headers, body: Buffer.concat(chunks) });
    });
    if (opts.body !== undefined) {
      const body = opts.body;
      pipeline(
        Readable.from((function* () {
          for (let i = 0; i < body.length; i += 64 * 1024) yield body.subarray(i, i + 64 * 1024);
        })()),
        stream,
        () => {},
      );
    }
  });
}

/** One HTTP/1.1 request with node's https client (raw header control; a fresh connection unless `agent`). */
export function h1Request(
  origin: string,
  path: string,
  opts: { method?: string; headers?: OutgoingHttpHeaders; body?: Buffer; agent?: https.Agent } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(path, origin), {
      method: opts.method ?? 'GET',
      headers: opts.headers,
      rejectUnauthorized: false,
      agent: opts.agent ?? false,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.end(opts.body);
  });
}

export interface CurlResult {
  stdout: string;
  stderr: string;
}

export function curl(args: string[]): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '-k', '--max-time', '10', ...args], { maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`curl ${args.join(' ')} failed: ${stderr}`, { cause: err }));
      else resolve({ stdout, stderr });
    });
  });
}
