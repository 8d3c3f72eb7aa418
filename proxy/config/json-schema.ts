// The JSON Schema editors use to complete and check weaver.yaml (yaml-language-server,
// VS Code). TypeBox schemas are JSON Schema already; serializing drops TypeBox's symbol keys.
import { ConfigSchema } from './schema.ts';

export const JSON_SCHEMA_DRAFT = 'http://json-schema.org/draft-07/schema#';

// In the static type a key with a default is always there (the loader fills it in), so TypeBox
// lists it as required; in the file it may be left out, and an editor must not ask for it.
function optionalDefaults(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(optionalDefaults);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    // `default` values are data, not schemas: copied as they are.
    out[key] = key === 'default' ? value : optionalDefaults(value);
  }
  const properties = out.properties as Record<string, Record<string, unknown>> | undefined;
  if (Array.isArray(out.required) && properties) {
    const required = (out.required as string[]).filter((k) => !('default' in (properties[k] ?? {})));
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  return out;
}

/** The exact text of schema/weaver.schema.json. */
export function renderJsonSchema(): string {
  return `${JSON.stringify({ $schema: JSON_SCHEMA_DRAFT, ...(optionalDefaults(ConfigSchema) as object) }, null, 2)}\n`;
}
