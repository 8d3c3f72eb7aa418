// One cluster worker: a full Weaver on the shared listeners, without the admin API and the demo
// origin (the primary runs those once). It runs the config text the primary checked, reloads
// when the primary says so, answers admin calls the primary forwards, and drains on 'stop'.
import { errorBody } from '../admin/reload-reply.ts';
import { loadConfigText } from '../config/load.ts';
import { Weaver } from '../weaver.ts';
import { isOurs, type ToPrimary, type ToWorker } from './messages.ts';

function send(message: ToPrimary): void {
  if (process.connected) process.send?.(message);
}

function configFromPrimary(): Promise<{ text: string; file: string }> {
  return new Promise((resolve) => {
    const onMessage = (m: unknown) => {
      if (!isOurs<ToWorker>(m) || m.weaver !== 'config') return;
      process.off('message', onMessage);
      resolve({ text: m.text, file: m.file });
    };
    process.on('message', onMessage);
    send({ weaver: 'boot' });
  });
}

/** Resolves with the exit code once the worker has stopped. */
export async function runWorker(started: (weaver: Weaver) => void): Promise<number> {
  const { text, file } = await configFromPrimary();
  const weaver = await Weaver.start(loadConfigText(text, file), { admin: false, demoOrigin: false });
  started(weaver);

  let done!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (done = resolve));
  const stop = (why: string) => {
    weaver.log.info({ why }, 'worker stopping');
    weaver.stop().then(
      () => done(0),
      (err: unknown) => {
        weaver.log.error({ err }, 'stop failed');
        done(1);
      },
    );
  };
  process.on('message', (m: unknown) => {
    if (!isOurs<ToWorker>(m)) return;
    if (m.weaver === 'stop') return stop('primary asked');
    if (m.weaver !== 'call') return;
    const work: () => Promise<unknown> =
      m.op === 'reload'
        ? () => weaver.reload(loadConfigText(m.text, m.file))
        : m.op === 'metrics'
          ? () => weaver.metrics.registry.getMetricsAsJSON()
          : () => weaver.handleAdmin(m.call);
    Promise.resolve().then(work).then(
      (value) => send({ weaver: 'result', id: m.id, ok: true, value }),
      (err: unknown) => send({ weaver: 'result', id: m.id, ok: false, error: errorBody(err) }),
    );
  });
  // A terminal's Ctrl-C reaches the whole process group: drain like the primary asked. SIGHUP
  // must not kill a worker (its default action): reloads come from the primary.
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => weaver.log.debug('SIGHUP ignored in a worker: the primary reloads workers'));
  send({ weaver: 'ready', listeners: weaver.listenerAddresses() });
  return exited;
}
