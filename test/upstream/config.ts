// UpstreamConfig the way the config loader makes it: schema defaults filled in.
import { Value } from '@sinclair/typebox/value';
import { UpstreamSchema, type UpstreamConfig } from '../../proxy/config/schema.ts';

export type UpstreamInput = { servers: Array<{ url: string; weight?: number; labels?: string[] }> } & Record<string, unknown>;

export function upstreamConfig(input: UpstreamInput): UpstreamConfig {
  return Value.Default(UpstreamSchema, structuredClone(input)) as UpstreamConfig;
}

/** mulberry32: a small seeded generator, so tests of random policies are repeatable. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
