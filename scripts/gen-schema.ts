// `npm run schema`: regenerates schema/weaver.schema.json from the TypeBox config schema.
// test/config/json-schema.test.ts fails when the committed file differs from this output.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderJsonSchema } from '../proxy/config/json-schema.ts';

const target = fileURLToPath(new URL('../schema/weaver.schema.json', import.meta.url));
mkdirSync(fileURLToPath(new URL('../schema/', import.meta.url)), { recursive: true });
writeFileSync(target, renderJsonSchema());
process.stdout.write(`wrote ${target}\n`);
