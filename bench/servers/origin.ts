// The fallback origin when nginx is not available: node:http answering every request with the
// same fixed 1 KiB body, keep-alive.
import http from 'node:http';
import { exitOnSignals, serverArgs } from './args.ts';

const args = serverArgs();
const body = Buffer.from('x'.repeat(1024));
const server = http.createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.listen(args.port, '127.0.0.1');
exitOnSignals(() => server.close());
