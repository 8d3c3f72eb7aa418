// A copy of the config that is safe to print or log.
import { isSecretKey } from './describe.ts';
import type { WeaverConfig } from './schema.ts';

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = isSecretKey(key) && inner !== undefined ? '[redacted]' : redact(inner);
  }
  return out;
}

/** Deep copy with every value under a key named token, password or secret replaced. */
export function redactConfig(config: WeaverConfig): WeaverConfig {
  return redact(config) as WeaverConfig;
}
