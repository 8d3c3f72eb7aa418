// Which member of a union of objects a value means to be. TypeBox only says "matches none of
// the members"; the useful errors are those of the member the user was writing, found by the
// keys that tell members apart (`kind` of a handshake pool, `dev` of a certificate).
import { KindGuard, type TSchema, type TUnion } from '@sinclair/typebox';

export type UnionChoice =
  | { member: TSchema }
  // The value names no member, or a member that does not exist: report at `key`.
  | { member?: undefined; key: string; present: boolean; options: unknown[] };

function literalKeys(member: TSchema): Map<string, unknown> {
  const keys = new Map<string, unknown>();
  if (!KindGuard.IsObject(member)) return keys;
  for (const [key, schema] of Object.entries(member.properties)) {
    if (KindGuard.IsLiteral(schema)) keys.set(key, schema.const);
  }
  return keys;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Undefined when the union is not one of objects or the value is no object at all. */
export function chooseUnionMember(union: TUnion, value: unknown): UnionChoice | undefined {
  if (!isPlainObject(value) || !union.anyOf.every((m) => KindGuard.IsObject(m))) return undefined;
  const members = union.anyOf.map((schema) => ({ schema, literals: literalKeys(schema) }));
  const discriminators = new Set(members.flatMap((m) => [...m.literals.keys()]));
  const present = [...discriminators].filter((k) => k in value);
  // A member is in the running when the value has exactly the discriminating keys it declares.
  const eligible = members.filter(
    (m) => m.literals.size === present.length && present.every((k) => m.literals.has(k)),
  );
  const matching = eligible.filter((m) => [...m.literals].every(([k, v]) => value[k] === v));
  if (matching.length > 0) return { member: matching[0]!.schema };
  // One candidate left: its own errors ("expected true, got false") say it best.
  if (eligible.length === 1) return { member: eligible[0]!.schema };
  const key = present[0] ?? [...discriminators][0] ?? '';
  const options = members.filter((m) => m.literals.has(key)).map((m) => m.literals.get(key));
  return { key, present: key in value, options };
}
