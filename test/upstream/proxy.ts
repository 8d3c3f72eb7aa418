// A whole Weaver from YAML in front of test backends, and a client for it that reports every
// answer instead of throwing, so a test can assert that none of a stream of requests failed.
import type { Test } from 'tap';
import { Agent, request } from 'undici';
import { startBackend, stopAll, type Backend } from './backends.ts';
import { makeTestCert, type TestCert } from '../support/test-cert.ts';
import { startWeaver, type Harness } from '../support/weaver-harness.ts';

let cert: TestCert | undefined;

/** `upstream` is the YAML body of the `app` pool, at any indentation. */
export async function weaverFor(upstream: string): Promise<Harness> {
  cert ??= makeTestCert();
  const lines = upstream.split('\n').filter((l) => l.trim() !== '');
  const indent = Math.min(...lines.map((l) => l.length - l.trimStart().length));
  const body = lines.map((l) => `    ${l.slice(indent)}`).join('\n');
  return startWeaver(`
listeners: [{ name: https, port: 0 }]
handshakePools:
  primary:
    kind: local
    certificates: [{ cert: ${cert.certFile}, key: ${cert.keyFile} }]
routes: [{ match: { pathPrefix: / }, upstream: app }]
upstreams:
  app:
${body}
admin: { enabled: false }
log: { accessLog: false }
`);
}

/** Named backends (`slow` gives some a response delay in ms), a Weaver in front, a client; all torn down with `t`. */
export async function withBackends(
  t: Test,
  names: string[],
  upstream: (b: Backend[]) => string,
  slow: Record<string, number> = {},
): Promise<{ backends: Backend[]; h: Harness; client: Client }> {
  const backends = await Promise.all(names.map((n) => startBackend(n, { delayMs: slow[n] ?? 0 })));
  t.teardown(() => stopAll(backends));
  const h = await weaverFor(upstream(backends));
  t.teardown(() => h.stop());
  const client = new Client(h.port);
  t.teardown(() => client.close());
  return { backends, h, client };
}

export interface Answer {
  status: number;
  /** x-backend: the server that answered, or '' for an answer Weaver made. */
  by: string;
  requestId: string;
  body: string;
}

export class Client {
  readonly agent = new Agent({ connect: { rejectUnauthorized: false }, connections: 16 });
  private readonly origin: string;

  constructor(port: number) {
    this.origin = `https://127.0.0.1:${port}`;
  }

  async send(path: string, opts: { method?: 'GET' | 'POST' | 'PUT' | 'HEAD'; body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
    const res = await request(`${this.origin}${path}`, { dispatcher: this.agent, method: opts.method ?? 'GET', body: opts.body, headers: opts.headers });
    const body = await res.body.text();
    return { status: res.statusCode, by: String(res.headers['x-backend'] ?? ''), requestId: String(res.headers['x-request-id'] ?? ''), body };
  }

  /** `n` GETs, `concurrency` at a time; the answers in order of completion. */
  async many(n: number, concurrency: number, path = '/'): Promise<Answer[]> {
    const out: Answer[] = [];
    let left = n;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (left > 0) {
          left--;
          out.push(await this.send(path));
        }
      }),
    );
    return out;
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** How many answers each backend gave. */
export function tally(answers: readonly Answer[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) out[a.by] = (out[a.by] ?? 0) + 1;
  return out;
}

/** Resolves once `pred` holds, polling every 10 ms; rejects after `ms`. */
export async function until(pred: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The value of one series of a metric in the Weaver's registry, 0 when absent. */
export async function metricValue(h: Harness, name: string, labels: Record<string, string>): Promise<number> {
  const metric = h.weaver.metrics.registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
    .reduce((n, v) => n + v.value, 0);
}
