// segmentation — micro-segmentation at the proxy: segments (addresses, names, certificate
// identities, fingerprints, tags), allow/deny/isolate rules evaluated at every phase of a
// connection, live flows cut when a rule forbids them, an admin API to change one rule at a
// time, an nftables export for Linux hosts, and a hash-chained audit log. See
// docs/plugins/segmentation.md.
import cluster from 'node:cluster';
import { isAbsolute, resolve } from 'node:path';
import { decide, definePlugin, PluginError, type ConnectionContext, type HandshakeInfo } from 'weaver';
import { mountAdmin } from './admin.ts';
import { TrafficAnalyzer } from './analyzer/analyzer.ts';
import { countStatus, flowFromClose, type StatusMix } from './analyzer/flow.ts';
import type { FeedLoader } from './intel/loader.ts';
import { isolate } from './isolation.ts';
import { AuditLog } from './audit.ts';
import { loadConfigPolicy } from './build.ts';
import { Controller } from './controller.ts';
import { LiveFlows } from './live.ts';
import { SegmentationOptions } from './options.ts';
import { normalizeIdentity, type Decision, type Flow } from './policy.ts';

export default definePlugin({
  name: 'segmentation',
  version: '0.1.0',
  options: SegmentationOptions,
  async setup(api) {
    const o = api.options;
    const base = isAbsolute(o.audit.file) ? o.audit.file : resolve(api.stateDir, o.audit.file);
    // Each worker process keeps its own chain: two writers on one file would break it.
    const file = cluster.isWorker ? base.replace(/(\.jsonl)?$/, `.w${cluster.worker!.id}$1`) : base;
    const audit = AuditLog.open({ file, maxBytes: o.audit.maxBytes, keep: o.audit.keep });
    const live = LiveFlows.for(api.stateDir);
    const ctl = new Controller({ maxRules: o.maxRules, maxEntries: o.maxEntries, cutLiveFlows: o.cutLiveFlows, maxDenyKeys: o.audit.maxDenyKeys }, { store: api.store, audit, log: api.log, live });
    // The newest instance decides, for the connections of an instance a reload replaced too.
    const cur = (): Controller => live.current ?? ctl;
    let feeds: FeedLoader;
    let restored;
    try {
      try {
        feeds = loadConfigPolicy(ctl, o, api.configDir, api.log);
      } catch (err) {
        throw new PluginError('WEAVER_ERR_PLUGIN_OPTIONS', api.name, (err as Error).message, { cause: err });
      }
      restored = await ctl.restore();
      await feeds.start();
    } catch (err) {
      audit.close();
      throw err;
    }
    const analyzer = new TrafficAnalyzer(o.analyzer, api.log);
    analyzer.onAnomaly((e) => {
      const id = isolate(cur(), e, o.isolation);
      api.log.warn({ source: e.source, risk: e.risk, detector: e.detector, reasons: e.reasons, rule: id }, 'segmentation: anomalous source');
    });
    analyzer.start();
    api.log.info({ segments: ctl.engine.segments.size, rules: ctl.engine.rules.size, restored, feeds: feeds.status(), audit: file }, 'segmentation ready');

    const metrics = {
      decisions: api.metrics.counter({ name: 'decisions_total', help: 'Flows refused by segmentation, by phase', labelNames: ['phase', 'verdict'] }),
      cut: api.metrics.counter({ name: 'flows_cut_total', help: 'Live flows cut because a changed rule forbids them' }),
      rules: api.metrics.gauge({ name: 'rules', help: 'Rules held by the engine' }),
    };
    ctl.onCut = (n) => {
      metrics.cut.inc(n);
      metrics.rules.set(ctl.engine.rules.size);
    };
    metrics.rules.set(ctl.engine.rules.size);

    const timers = [
      setInterval(() => ctl.replaced || ctl.sweep(), o.sweepIntervalMs),
      setInterval(() => ctl.flushDenials(), o.audit.denyIntervalMs),
    ];
    for (const t of timers) t.unref();
    api.onStop(() => {
      live.leave(ctl);
      feeds.stop();
      analyzer.stop();
      for (const t of timers) clearInterval(t);
      ctl.flushDenials();
      audit.close();
    });
    mountAdmin(api, ctl, { feeds, analyzer });
    live.join(ctl);
    const statuses = api.connectionState((): StatusMix => ({}));

    const flowOf = (conn: ConnectionContext): Flow => {
      let flow = live.flows.get(conn);
      if (!flow) live.flows.set(conn, (flow = { src: conn.remoteAddress, dst: conn.localAddress, port: conn.localPort, tags: conn.tags, stage: 0 }));
      return flow;
    };
    /** Applies a decision; returns the refusal reason, or undefined to let the flow go on. */
    const apply = (conn: ConnectionContext, flow: Flow, d: Decision, phase: string): string | undefined => {
      flow.segment = d.segment;
      for (const r of d.flags) conn.tag('seg.flag', r.id);
      if (d.verdict !== 'deny') return undefined;
      metrics.decisions.inc({ phase, verdict: 'deny' });
      cur().denied(flow, d);
      conn.tag('seg.deny', d.by);
      return `segmentation: ${d.by}`;
    };

    return {
      onConnection(conn) {
        const flow = flowOf(conn);
        const why = apply(conn, flow, cur().evaluate(flow), 'connection');
        if (why) return decide.reject(why);
      },
      onClientHello(conn, hello) {
        const flow = flowOf(conn);
        flow.sni = hello.sni?.toLowerCase();
        flow.ja4 = hello.ja4;
        flow.ja3 = hello.ja3;
        flow.stage = 1;
        const why = apply(conn, flow, cur().evaluate(flow), 'clienthello');
        if (why) return decide.reject(why);
      },
      onHandshakeDone(conn, tls) {
        const flow = flowOf(conn);
        flow.identities = identities(tls);
        flow.stage = 2;
        const why = apply(conn, flow, cur().evaluate(flow), 'handshake');
        if (why) return decide.reject(why);
      },
      onRequest(req) {
        const flow = flowOf(req.connection);
        flow.host = req.host.replace(/:\d+$/, '').toLowerCase();
        flow.route = req.route;
        flow.upstream = req.upstream;
        flow.stage = 3;
        const why = apply(req.connection, flow, cur().evaluate(flow), 'request');
        if (why) return decide.reject(why, 403);
      },
      onResponse(req, res) {
        countStatus(statuses(req.connection), res.status);
      },
      onClose(conn, summary) {
        const flow = live.flows.get(conn);
        live.flows.delete(conn);
        // A flow this plugin refused tells the analyzer nothing new about its source.
        if (conn.tags['seg.deny'] === undefined) analyzer.record(flowFromClose(conn, summary, { segment: flow?.segment, statuses: statuses(conn) }));
      },
    };
  },
});

/** Who a verified client certificate says the client is: CN, subjectAltName values, fingerprint. */
function identities(tls: HandshakeInfo): string[] | undefined {
  const cert = tls.clientCertificate;
  if (!cert?.authorized) return undefined;
  const out = [normalizeIdentity(cert.fingerprint256)];
  const cn = /(?:^|\n|,\s*)CN=([^\n,]+)/.exec(cert.subject)?.[1];
  if (cn) out.push(cn.trim());
  for (const part of cert.subjectAltName?.split(/,\s*/) ?? []) {
    const at = part.indexOf(':');
    if (at > 0) out.push(part.slice(at + 1));
  }
  return out;
}
