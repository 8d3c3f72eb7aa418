// Fills in schema defaults. TypeBox's Value.Default leaves two holes this config falls into:
// it skips the values of a Record whose value schema has no default of its own (so a handshake
// pool or an upstream would get none of its inner defaults), and it fills a union member only
// when the result already validates (so one wrong field in a pool would also turn every
// defaulted field into "missing"). So the walk is done here: records are always walked and a
// union's member is chosen by its discriminating key, as the error report does.
import { KindGuard, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { chooseUnionMember } from './union-member.ts';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function hasDefault(schema: TSchema): boolean {
  return 'default' in schema;
}

/** Returns `value` with defaults applied; objects and lists are filled in place. */
export function applyDefaults(schema: TSchema, value: unknown): unknown {
  // A section written with nothing after its colon (`plugins:`, or a block whose entries are
  // all commented out) means "the default", not "null".
  if (value === null && hasDefault(schema) && isContainer(schema)) value = undefined;
  if (value === undefined && hasDefault(schema)) value = Value.Clone(schema.default);

  if (KindGuard.IsObject(schema)) {
    if (!isPlainObject(value)) return value;
    for (const [key, property] of Object.entries(schema.properties)) {
      const filled = applyDefaults(property, value[key]);
      if (filled !== undefined) value[key] = filled;
    }
    return value;
  }
  if (KindGuard.IsRecord(schema)) {
    if (!isPlainObject(value)) return value;
    const valueSchema = Object.values(schema.patternProperties)[0] as TSchema | undefined;
    if (valueSchema === undefined) return value;
    for (const key of Object.keys(value)) value[key] = applyDefaults(valueSchema, value[key]);
    return value;
  }
  if (KindGuard.IsArray(schema)) {
    if (!Array.isArray(value)) return value;
    for (let i = 0; i < value.length; i++) value[i] = applyDefaults(schema.items, value[i]);
    return value;
  }
  if (KindGuard.IsUnion(schema)) {
    const choice = chooseUnionMember(schema, value);
    return choice?.member ? applyDefaults(choice.member, value) : value;
  }
  return value;
}

function isContainer(schema: TSchema): boolean {
  return KindGuard.IsObject(schema) || KindGuard.IsRecord(schema) || KindGuard.IsArray(schema);
}
