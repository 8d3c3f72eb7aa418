// A third-party plugin that touches every phase. It records, per connection, which phases ran
// and in what order, tags connections, steers upstream choice by a label, counts bytes seen by
// onPacket, and serves what it saw on the admin API at /api/plugins/phase-tracer/recent.
import { definePlugin, decide, Type, type ConnectionContext } from 'weaver';

interface Trace {
  id: string;
  remote: string;
  sni: string | undefined;
  ja4: string | undefined;
  phases: string[];
  bytes: { in: number; out: number };
  summary?: { outcome: string; requests: number; bytesIn: number; bytesOut: number };
}

export default definePlugin({
  name: 'phase-tracer',
  version: '1.0.0',
  options: Type.Object({
    /** Upstream servers carrying this label are tried first. */
    preferLabel: Type.Optional(Type.String()),
    /** Connections from these addresses are refused at accept. */
    denyAddresses: Type.Array(Type.String(), { default: [] }),
    /** Requests to this path get an answer from the plugin itself. */
    answerPath: Type.String({ default: '/_tracer' }),
    /** How many finished connections to remember. */
    keep: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 }),
    /** Record onPacket byte counts (puts a JS stream on every connection). */
    packets: Type.Boolean({ default: true }),
  }),
  setup(api) {
    const { options } = api;
    const recent: Trace[] = [];
    const trace = api.connectionState((conn: ConnectionContext): Trace => ({
      id: conn.id,
      remote: conn.remoteAddress,
      sni: undefined,
      ja4: undefined,
      phases: [],
      bytes: { in: 0, out: 0 },
    }));
    const phasesSeen = api.metrics.counter({ name: 'phases_total', help: 'Hook calls seen, by phase', labelNames: ['phase'] });

    const mark = (conn: ConnectionContext, phase: string) => {
      const t = trace(conn);
      if (t.phases.at(-1) !== phase) t.phases.push(phase);
      phasesSeen.inc({ phase });
    };

    api.admin.route('GET', '/recent', () => ({ body: recent }));

    return {
      onConnection(conn) {
        mark(conn, 'onConnection');
        if (options.denyAddresses.includes(conn.remoteAddress)) return decide.reject('address denied by phase-tracer');
      },
      onClientHello(conn, hello) {
        mark(conn, 'onClientHello');
        const t = trace(conn);
        t.sni = hello.sni;
        t.ja4 = hello.ja4;
        conn.tag('tracer.ja4', hello.ja4);
      },
      async onHandshakeDone(conn, tls) {
        mark(conn, 'onHandshakeDone');
        conn.tag('tracer.tls', tls.protocol);
      },
      onRequest(req) {
        mark(req.connection, 'onRequest');
        req.upstreamHeaders['x-traced-by'] = 'phase-tracer';
        if (req.url === options.answerPath) return decide.respond(200, JSON.stringify(trace(req.connection)), { 'content-type': 'application/json' });
      },
      onUpstreamSelect(req, candidates) {
        mark(req.connection, 'onUpstreamSelect');
        const label = options.preferLabel;
        if (!label) return;
        return [...candidates].sort((a, b) => Number(b.labels.includes(label)) - Number(a.labels.includes(label)));
      },
      onResponse(req) {
        mark(req.connection, 'onResponse');
      },
      ...(options.packets
        ? {
            onPacket(conn: ConnectionContext, chunk: Uint8Array, direction: 'in' | 'out') {
              mark(conn, 'onPacket');
              trace(conn).bytes[direction] += chunk.byteLength;
            },
          }
        : {}),
      onClose(conn, summary) {
        mark(conn, 'onClose');
        const t = trace(conn);
        t.summary = { outcome: summary.outcome, requests: summary.requests, bytesIn: summary.bytesIn, bytesOut: summary.bytesOut };
        recent.push(t);
        if (recent.length > options.keep) recent.shift();
      },
    };
  },
});
