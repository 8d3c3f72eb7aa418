// SIGTERM with requests in flight: the listener closes at once, the requests already inside
// (HTTP/1.1 and HTTP/2) finish with their real answer, and the process exits 0.
import net from 'node:net';
import t from 'tap';
import { startDemoOrigin } from '../../proxy/demo-origin.ts';
import { h1Request, h2Request } from '../http/clients.ts';
import { drainConfig, freePort, msg, startWeaverProcess, tempDir, writeConfig } from './weaver-process.ts';

t.test('in-flight requests complete after SIGTERM; exit code 0', async (t) => {
  const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
  t.teardown(() => origin.close());
  const [port, adminPort] = [await freePort(), await freePort()];
  const file = writeConfig(
    tempDir(t),
    drainConfig({ port, adminPort, originPort: origin.port, drainTimeoutMs: 8000 }),
  );
  const proc = await startWeaverProcess(file, { teardown: (fn) => t.teardown(fn) });
  const base = `https://127.0.0.1:${port}`;

  let arrived = 0;
  const bothArrived = new Promise<void>((resolve) =>
    origin.server.on('request', () => {
      if (++arrived === 2) resolve();
    }),
  );
  const h1 = h1Request(base, '/delay/1500');
  const h2 = h2Request(base, '/delay/1500');
  // Both are inside Weaver and waiting on the origin when the signal comes.
  await bothArrived;
  proc.kill('SIGTERM');
  await proc.waitForLog(msg('stopped accepting; draining'));

  const refused = await new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
  t.equal(refused, 'ECONNREFUSED', 'a new connection is refused once stopping');

  const [a1, a2] = await Promise.all([h1, h2]);
  t.equal(a1.status, 200, 'HTTP/1.1 request finished with its answer');
  t.same(JSON.parse(a1.body.toString()), { delayedMs: 1500 });
  t.equal(a1.headers.connection, 'close', 'and was told the connection closes');
  t.equal(a2.status, 200, 'HTTP/2 request finished with its answer');
  t.same(JSON.parse(a2.body.toString()), { delayedMs: 1500 });
  t.equal(await proc.exited, 0, 'exit code 0');
  t.ok(proc.logs.some((l) => l.msg === 'stopped'), 'the log says it stopped');
});
