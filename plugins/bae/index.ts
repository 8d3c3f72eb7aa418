// bae — the behavioural analysis engine. Profiles every client during the TLS handshake,
// scores it (isolation forest on recent traffic + explicit signals), sends suspicious clients
// to a stricter handshake pool or refuses them, and picks the data server by who the client
// is. See docs/plugins/bae.md.
import { decide, definePlugin, PluginError, type ConnectionContext } from 'weaver';
import { mountAdmin } from './admin.ts';
import { Engine, newConnState, type Decision } from './engine.ts';
import { FingerprintLists } from './lists.ts';
import { BaeOptions } from './options.ts';
import { restore, save } from './persist.ts';
import { createTelemetry, flushCounts } from './telemetry.ts';

export default definePlugin({
  name: 'bae',
  version: '0.1.0',
  options: BaeOptions,
  async setup(api) {
    const o = api.options;
    if (!o.observeOnly && !api.pools.includes(o.strictPool)) {
      throw new PluginError('WEAVER_ERR_PLUGIN_OPTIONS', api.name, `strictPool "${o.strictPool}" is not a handshake pool (have: ${api.pools.join(', ')})`);
    }
    if (o.rejectThreshold < o.threshold) {
      throw new PluginError('WEAVER_ERR_PLUGIN_OPTIONS', api.name, 'rejectThreshold must not be below threshold');
    }
    const lists = new FingerprintLists();
    for (const entry of o.lists) {
      try {
        lists.load(typeof entry === 'string' ? { file: entry } : entry, api.configDir);
      } catch (err) {
        throw new PluginError('WEAVER_ERR_PLUGIN_OPTIONS', api.name, `list ${JSON.stringify(entry)}: ${(err as Error).message}`, { cause: err });
      }
    }
    const telemetry = createTelemetry(api.metrics);
    const engine = new Engine(o, lists, telemetry);
    const restored = await restore(engine, api.store);
    api.log.info({ restored, lists: lists.sizes }, 'bae ready');
    if (engine.model.samples >= o.model.minSamples) await engine.retrain('restart');

    let saves = 0;
    let saving: Promise<void> | undefined;
    const saveNow = (withWindow: boolean): Promise<void> =>
      (saving ??= save(engine, api.store, withWindow)
        .catch((err: unknown) => api.log.warn({ err }, 'bae: saving state failed'))
        .finally(() => (saving = undefined)));
    const timers = [
      setInterval(() => void saveNow(++saves % 6 === 0), o.profiles.saveIntervalMs),
      setInterval(() => void engine.retrain('interval')?.catch((err: unknown) => api.log.warn({ err }, 'bae: training failed')), o.model.retrainIntervalMs),
      setInterval(() => {
        const now = Date.now();
        flushCounts(telemetry, engine.pending);
        engine.prints.rerank(now);
        telemetry.profiles.set({ table: 'address' }, engine.addresses.size);
        telemetry.profiles.set({ table: 'address_ja4' }, engine.clients.size);
        const status = engine.model.status();
        telemetry.samples.set(status.samples);
        telemetry.drift.set(status.drift);
        if (status.trainedAt) telemetry.trainedAt.set(Date.parse(status.trainedAt) / 1000);
      }, 5_000),
    ];
    for (const t of timers) t.unref();
    api.onStop(async () => {
      for (const t of timers) clearInterval(t);
      flushCounts(telemetry, engine.pending);
      await saving;
      await save(engine, api.store, true, true);
    });

    mountAdmin(api, engine);
    const slot = api.connectionState(newConnState);

    return {
      onClientHello(conn, hello) {
        const d = engine.analyze(conn, hello, slot(conn));
        tagDecision(conn, d);
        if (o.observeOnly || d.action === 'primary') return;
        const why = topSignals(d, ', ');
        if (d.action === 'reject') return decide.reject(`bae: score ${d.score} (${why})`);
        return decide.route(o.strictPool);
      },
      onHandshakeDone(conn, tls) {
        const action = engine.handshakeDone(conn, tls, slot(conn));
        if (action === 'reject' && !o.observeOnly) return decide.reject(`bae: score ${slot(conn).score} (client-cert-unverified)`);
      },
      onRequest(req) {
        const state = slot(req.connection);
        if (!state.ja4) return;
        const refuse = engine.request(req, state);
        if (refuse && !o.observeOnly) {
          telemetry.requestRejects.inc({ status: String(refuse.status) });
          return decide.reject(`bae: ${refuse.reason}`, refuse.status);
        }
      },
      onUpstreamSelect(req, candidates) {
        const state = slot(req.connection);
        if (candidates.length < 2) return;
        return engine.select(candidates, state);
      },
      onResponse(req, res) {
        engine.response(res, slot(req.connection));
      },
      onClose(conn, summary) {
        engine.close(summary.outcome, summary.requests, slot(conn));
      },
    };
  },
});

function tagDecision(conn: ConnectionContext, d: Decision): void {
  conn.tag('bae.score', d.score);
  conn.tag('bae.action', d.action);
  if (d.reasonCount > 0) conn.tag('bae.reasons', d.reasonCount === 1 ? d.reasons[0]!.signal : topSignals(d, ','));
}

function topSignals(d: Decision, separator: string): string {
  if (d.reasonCount === 0) return '';
  let out = d.reasons[0]!.signal;
  for (let i = 1; i < Math.min(3, d.reasonCount); i++) out += separator + d.reasons[i]!.signal;
  return out;
}
