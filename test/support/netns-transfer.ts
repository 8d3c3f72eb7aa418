// A plain TCP transfer tool run inside the bed's namespaces (and under `mptcpize run` for
// MPTCP, which swaps the socket's protocol under Node without its knowing). One JSON line per
// event on stdout:
//
//   sink --port P                     listen on 0.0.0.0:P; per connection
//                                     {"event":"received","bytes","sha256","ms","mbit","maxGapMs"}
//   echo --port P                     listen on 0.0.0.0:P and echo every byte back
//   send --to HOST:PORT --bytes N [--bind ADDR]
//                                     {"event":"sent","bytes","sha256","ms"} once the peer has it all
//
// Every listener first prints {"event":"listening","port"}. `ms` and `mbit` of the sink run
// from its first byte to its last, so the connection's setup is not counted as goodput time.
import { createHash, randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string', default: '0' },
    to: { type: 'string' },
    bytes: { type: 'string' },
    bind: { type: 'string' },
  },
});

const say = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);
process.on('SIGTERM', () => process.exit(0));

function listen(onSocket: (socket: net.Socket) => void): void {
  const server = net.createServer({ noDelay: true }, onSocket);
  server.listen(Number(values.port), '0.0.0.0', () => say({ event: 'listening', port: (server.address() as AddressInfo).port }));
}

function sink(socket: net.Socket): void {
  const hash = createHash('sha256');
  let bytes = 0;
  let first = 0;
  let last = 0;
  let maxGapMs = 0;
  socket.on('data', (chunk: Buffer) => {
    const now = performance.now();
    if (bytes === 0) first = now;
    else maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    bytes += chunk.length;
    hash.update(chunk);
  });
  socket.on('end', () => {
    const ms = last - first;
    say({ event: 'received', bytes, sha256: hash.digest('hex'), ms: Math.round(ms), mbit: ms > 0 ? (bytes * 8) / ms / 1000 : 0, maxGapMs: Math.round(maxGapMs) });
    socket.end();
  });
  socket.on('error', (err) => say({ event: 'error', message: err.message }));
}

function send(): void {
  const [host, port] = (values.to ?? '').split(/:(?=\d+$)/);
  const total = Number(values.bytes);
  if (!host || !port || !(total > 0)) throw new Error('send needs --to HOST:PORT and --bytes N');
  // One random MiB sent over and over: cheap to produce, still no pattern a path could compress.
  const block = randomBytes(1 << 20);
  const hash = createHash('sha256');
  const started = performance.now();
  const socket = net.connect({ host, port: Number(port), localAddress: values.bind, noDelay: true });
  let left = total;
  const pump = () => {
    while (left > 0) {
      const chunk = left >= block.length ? block : block.subarray(0, left);
      left -= chunk.length;
      hash.update(chunk);
      if (!socket.write(chunk)) return void socket.once('drain', pump);
    }
    socket.end();
  };
  socket.once('connect', pump);
  // The sink closes its side once it has read everything: only then is the transfer done.
  socket.on('close', (hadError) => {
    say({ event: hadError ? 'error' : 'sent', bytes: total - left, sha256: hash.digest('hex'), ms: Math.round(performance.now() - started) });
    process.exit(hadError ? 1 : 0);
  });
  socket.on('data', () => {});
  socket.on('error', (err) => say({ event: 'error', message: err.message }));
}

switch (positionals[0]) {
  case 'sink':
    listen(sink);
    break;
  case 'echo':
    listen((socket) => {
      socket.pipe(socket);
      socket.on('error', () => socket.destroy());
    });
    break;
  case 'send':
    send();
    break;
  default:
    throw new Error(`unknown mode ${positionals[0] ?? '(none)'}: sink | echo | send`);
}
