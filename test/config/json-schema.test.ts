import { readFileSync } from 'node:fs';
import t from 'tap';
import { JSON_SCHEMA_DRAFT, renderJsonSchema } from '../../proxy/config/json-schema.ts';

const committed = new URL('../../schema/weaver.schema.json', import.meta.url);

t.test('schema/weaver.schema.json is what `npm run schema` generates now', async (t) => {
  t.equal(readFileSync(committed, 'utf8'), renderJsonSchema(), 'run `npm run schema` and commit the result');
});

t.test('keys with defaults are optional for editors', async (t) => {
  const schema = JSON.parse(renderJsonSchema());
  t.equal(schema.$schema, JSON_SCHEMA_DRAFT);
  t.same(schema.required, ['listeners', 'handshakePools']);
  t.same(schema.properties.listeners.items.required, ['name', 'port']);
  t.equal(schema.properties.http.required, undefined);
  t.equal(schema.properties.http.properties.maxHeaderBytes.default, 16_384);
});

t.test('docs/configuration.md is what `npm run schema` generates now', async (t) => {
  const { renderConfigReference } = await import('../../proxy/config/reference-doc.ts');
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  t.equal(doc, renderConfigReference(), 'run `npm run schema` and commit the result');
  t.match(doc, /`listeners\[\]\.clientHello\.maxBytes` \| integer \(512–65536\) \| `16384`/);
});
