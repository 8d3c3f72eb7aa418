// bonding-upstream — carries upstream connections over a bonded session of several network
// paths at once (TLS 1.3 channels), so the link is faster than any one path and survives the
// loss of any one. An edge Weaver's upstream server says `via: bond:NAME`; an endpoint Weaver
// near the origin accepts the channels and opens the real connections its allow list permits.
// See docs/plugins/bonding-upstream.md.
import { definePlugin, PluginError, type PluginApi } from 'weaver';
import { mountAdmin } from './admin.ts';
import { EdgeSession } from './edge.ts';
import { Endpoint } from './endpoint.ts';
import { BondingOptions, type BondingOptionsT } from './options.ts';
import { collectPins, readPem } from './pins.ts';
import { createTelemetry, type Telemetry } from './telemetry.ts';

export default definePlugin({
  name: 'bonding-upstream',
  version: '0.1.0',
  options: BondingOptions,
  async setup(api) {
    const o = api.options;
    if (!o.edge && !o.endpoint) throw new PluginError('WEAVER_ERR_PLUGIN_OPTIONS', api.name, 'give an `edge` section, an `endpoint` section, or both');
    const telemetry = createTelemetry(api.metrics);
    const edges = o.edge ? buildEdges(api, o.edge, telemetry) : [];
    let endpoint: Endpoint | undefined;
    if (o.endpoint) {
      const e = o.endpoint;
      const identity = files(api, () => ({ cert: readPem(e.certificate, api.configDir), key: readPem(e.key, api.configDir) }));
      const peers = e.peers.map((p) => ({ name: p.name, pins: files(api, () => collectPins(p.pins, p.certificates, api.configDir)) }));
      for (const p of peers) if (p.pins.size === 0) throw new PluginError('WEAVER_ERR_PLUGIN_OPTIONS', api.name, `endpoint peer "${p.name}" has no pins`);
      endpoint = new Endpoint(e, identity, peers, api.log, telemetry);
      try {
        await endpoint.listen();
      } catch (err) {
        await endpoint.close();
        throw new PluginError('WEAVER_ERR_PLUGIN_LOAD', api.name, `endpoint cannot listen: ${(err as Error).message}`, { cause: err });
      }
    }

    const byName = new Map(edges.map((e) => [e.name, e]));
    if (edges.length > 0) {
      api.upstreamTransports.register('bond', {
        connect(target, name, signal) {
          const edge = byName.get(name);
          if (!edge) throw new Error(`no bonded session "${name}" in the bonding-upstream options (have: ${[...byName.keys()].join(', ')})`);
          return edge.session.open(target.host, target.port, signal);
        },
      });
    }
    mountAdmin(api as PluginApi<unknown>, edges, endpoint);
    for (const e of edges) e.start();

    const timer = setInterval(() => {
      for (const e of edges) telemetry.update('edge', e.name, e.session);
      for (const es of endpoint?.sessions.values() ?? []) telemetry.update('endpoint', es.key, es.session);
    }, 1_000);
    timer.unref();
    api.log.info({ sessions: edges.map((e) => e.name), endpoint: o.endpoint?.listen ?? null }, 'bonding-upstream ready');

    api.onStop(async () => {
      clearInterval(timer);
      for (const e of edges) e.stop();
      await endpoint?.close();
    });
  },
});

function buildEdges(api: PluginApi<BondingOptionsT>, edge: NonNullable<BondingOptionsT['edge']>, telemetry: Telemetry): EdgeSession[] {
  const identity = files(api, () => ({ cert: readPem(edge.certificate, api.configDir), key: readPem(edge.key, api.configDir) }));
  if (new Set(edge.sessions.map((s) => s.name)).size !== edge.sessions.length) {
    throw new PluginError('WEAVER_ERR_PLUGIN_OPTIONS', api.name, 'two sessions have the same name');
  }
  return edge.sessions.map((s) => {
    const name = s.name;
    const pins = files(api, () => collectPins(s.peerPins, s.peerCertificates, api.configDir));
    if (pins.size === 0) throw new PluginError('WEAVER_ERR_PLUGIN_OPTIONS', api.name, `session "${name}" pins no endpoint certificate (peerPins or peerCertificates)`);
    const names = new Set(s.channels.map((c) => c.name));
    if (names.size !== s.channels.length) throw new PluginError('WEAVER_ERR_PLUGIN_OPTIONS', api.name, `session "${name}" names a channel twice`);
    return new EdgeSession(name, s, identity, pins, api.log, telemetry);
  });
}

/** Certificate and key files: a missing or unreadable one is an options error naming it. */
function files<T>(api: PluginApi<unknown>, read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw new PluginError('WEAVER_ERR_PLUGIN_OPTIONS', api.name, (err as Error).message, { cause: err });
  }
}
