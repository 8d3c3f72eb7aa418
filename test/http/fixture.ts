// A whole HTTP path for tests: ingress + upstream registry + hooks behind the TLS stand-in,
// configured the way the config loader would (schema defaults applied), with captured logs.
import { Writable } from 'node:stream';
import type { Test } from 'tap';
import { startDemoOrigin, type DemoOrigin } from '../../proxy/demo-origin.ts';
import { Value } from '@sinclair/typebox/value';
import { pino } from 'pino';
import { Agent } from 'undici';
import {
  HttpSchema,
  RouteSchema,
  UpstreamSchema,
  type HttpConfig,
  type RouteConfig,
  type UpstreamConfig,
} from '../../proxy/config/schema.ts';
import { HookRunner } from '../../proxy/hooks/runner.ts';
import { createHttpIngress, type HttpIngress } from '../../proxy/http/ingress.ts';
import { CoreMetrics } from '../../proxy/metrics.ts';
import type { PluginHooks } from '../../proxy/plugin/types.ts';
import { UpstreamRegistry } from '../../proxy/upstream/registry.ts';
import { startTlsFront, type TlsFront } from '../support/tls-front.ts';
import { makeTestCert, type TestCert } from '../support/test-cert.ts';

let cert: TestCert | undefined;
export function testCert(): TestCert {
  return (cert ??= makeTestCert());
}

export interface ProxyOptions {
  routes: Array<{ name?: string; host?: string[]; pathPrefix?: string; upstream: string }>;
  upstreams: Record<string, { servers: Array<{ url: string; weight?: number; labels?: string[] }> } & Partial<Omit<UpstreamConfig, 'servers'>>>;
  http?: Partial<HttpConfig>;
  plugins?: PluginHooks[];
  pluginTimeoutMs?: number;
  transport?: 'native' | 'js-stream';
}

export interface ProxyFixture {
  readonly url: string;
  readonly port: number;
  readonly front: TlsFront;
  readonly ingress: HttpIngress;
  readonly registry: UpstreamRegistry;
  readonly metrics: CoreMetrics;
  /** Parsed log lines (level debug and up). */
  readonly logs: Array<Record<string, unknown>>;
  readonly pluginFailures: string[];
  /** An undici dispatcher that trusts the test certificate; HTTP/1.1 only. */
  readonly agent: Agent;
  close(): Promise<void>;
}

export async function startProxy(opts: ProxyOptions): Promise<ProxyFixture> {
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  const http = Value.Default(HttpSchema, { ...opts.http }) as HttpConfig;
  const routes = opts.routes.map(
    (r) =>
      Value.Default(RouteSchema, {
        ...(r.name ? { name: r.name } : {}),
        upstream: r.upstream,
        match: { ...(r.host ? { host: r.host } : {}), ...(r.pathPrefix ? { pathPrefix: r.pathPrefix } : {}) },
      }) as RouteConfig,
  );
  const upstreams = Object.fromEntries(
    Object.entries(opts.upstreams).map(([name, u]) => [name, Value.Default(UpstreamSchema, structuredClone(u)) as UpstreamConfig]),
  );
  const metrics = new CoreMetrics(false);
  const registry = new UpstreamRegistry(upstreams, { log, metrics });
  const pluginFailures: string[] = [];
  const hooks = new HookRunner(
    (opts.plugins ?? []).map((h, i) => ({
      owner: { name: `t${i}`, timeoutMs: opts.pluginTimeoutMs ?? 1_000, failure: 'open' as const },
      hooks: h,
    })),
    (owner, phase, error) => pluginFailures.push(`${owner.name} ${phase} ${error.code}`),
  );
  const ingress = createHttpIngress({ http, routes, upstreams: registry, hooks, log, accessLog: true, metrics });
  const { cert: pem, key } = testCert();
  const front = await startTlsFront(ingress, { cert: pem, key, log, transport: opts.transport ?? 'native' });
  const agent = new Agent({ connect: { rejectUnauthorized: false } });
  return {
    url: front.url,
    port: front.port,
    front,
    ingress,
    registry,
    metrics,
    logs,
    pluginFailures,
    agent,
    close: async () => {
      await agent.close();
      await ingress.close(200);
      await front.close();
      await registry.close();
    },
  };
}

/** The access log lines, in order. */
export function accessLines(fx: ProxyFixture): Array<Record<string, unknown>> {
  return fx.logs.filter((l) => l.msg === 'request');
}

/** Resolves once `pred` holds, polling every 5 ms; rejects after `ms`. */
export async function waitFor(pred: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * The common set-up: a demo origin and a proxy that routes everything to it, both closed when
 * the test file ends.
 */
export async function proxyToDemoOrigin(t: Test): Promise<{ origin: DemoOrigin; fx: ProxyFixture }> {
  const origin = await startDemoOrigin({ address: '127.0.0.1', port: 0 });
  const fx = await startProxy({
    routes: [{ upstream: 'demo' }],
    upstreams: { demo: { servers: [{ url: `http://127.0.0.1:${origin.port}` }] } },
  });
  t.teardown(async () => {
    await fx.close();
    await origin.close();
  });
  return { origin, fx };
}
