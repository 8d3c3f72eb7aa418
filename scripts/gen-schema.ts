// `npm run schema`: regenerates schema/weaver.schema.json and docs/configuration.md from the
// TypeBox config schema. test/config/json-schema.test.ts fails when either file is stale.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderJsonSchema } from '../proxy/config/json-schema.ts';
import { renderConfigReference } from '../proxy/config/reference-doc.ts';

const at = (rel: string) => fileURLToPath(new URL(`../${rel}`, import.meta.url));
mkdirSync(at('schema/'), { recursive: true });
writeFileSync(at('schema/weaver.schema.json'), renderJsonSchema());
writeFileSync(at('docs/configuration.md'), renderConfigReference());
process.stdout.write('wrote schema/weaver.schema.json and docs/configuration.md\n');
