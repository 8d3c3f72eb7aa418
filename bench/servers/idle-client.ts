// The memory test's client, run in its own process on the client core: opens `count` TLS
// connections (full handshakes, ALPN http/1.1, no session reuse, no request) at most
// `concurrency` handshakes at a time, keeps them open and idle, prints one JSON line
// {"open":N,"failed":M}, and closes everything when its stdin ends.
import tls from 'node:tls';

interface Args {
  port: number;
  count: number;
  concurrency: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const sockets = new Set<tls.TLSSocket>();
let failed = 0;
let closedEarly = 0;
let started = 0;
let inFlight = 0;

await new Promise<void>((resolve) => {
  const next = (): void => {
    while (inFlight < args.concurrency && started < args.count) {
      started++;
      inFlight++;
      const s = tls.connect({ host: '127.0.0.1', port: args.port, servername: 'localhost', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
      let settled = false;
      const settle = (ok: boolean) => {
        if (settled) return;
        settled = true;
        inFlight--;
        if (ok) sockets.add(s);
        else failed++;
        if (started >= args.count && inFlight === 0) resolve();
        else next();
      };
      s.once('secureConnect', () => settle(true));
      s.on('error', () => settle(false));
      s.once('close', () => {
        if (sockets.delete(s)) closedEarly++;
        settle(false);
      });
    }
  };
  next();
});

process.stdout.write(`${JSON.stringify({ open: sockets.size, failed, closedEarly })}\n`);
process.stdin.resume();
process.stdin.once('end', () => {
  process.stdout.write(`${JSON.stringify({ open: sockets.size, failed, closedEarly })}\n`);
  for (const s of sockets) s.destroy();
  process.exit(0);
});
