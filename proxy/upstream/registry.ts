// Every upstream pool of one config, by name. A reload builds a new registry; the old one is
// closed once the requests that still use it have finished (undici's close waits for them).
import type { UpstreamConfig } from '../config/schema.ts';
import { UpstreamPool } from './pool.ts';

export class UpstreamRegistry {
  private readonly pools = new Map<string, UpstreamPool>();

  constructor(configs: Readonly<Record<string, UpstreamConfig>>) {
    for (const [name, config] of Object.entries(configs)) this.pools.set(name, new UpstreamPool(name, config));
  }

  get(name: string): UpstreamPool | undefined {
    return this.pools.get(name);
  }

  names(): string[] {
    return [...this.pools.keys()];
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()));
  }
}
