// Plain-words descriptions of what a schema accepts and of what was found instead, for messages
// like `expected an integer from 0 to 65535, got "abc"`.
import { KindGuard, type TSchema } from '@sinclair/typebox';

const secretKeys = new Set(['token', 'password', 'secret']);

export function isSecretKey(key: string | number | undefined): boolean {
  return typeof key === 'string' && secretKeys.has(key.toLowerCase());
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function range(min: number | undefined, max: number | undefined, unit = ''): string {
  if (min !== undefined && max !== undefined) return min === max ? ` of exactly ${min}${unit}` : ` from ${min} to ${max}${unit}`;
  if (min !== undefined) return ` of at least ${min}${unit}`;
  if (max !== undefined) return ` of at most ${max}${unit}`;
  return '';
}

export function listOptions(options: unknown[]): string {
  const quoted = options.map((o) => JSON.stringify(o));
  if (quoted.length <= 1) return quoted.join('');
  if (quoted.length === 2) return `${quoted[0]} or ${quoted[1]}`;
  return `one of ${quoted.join(', ')}`;
}

export function describeExpected(schema: TSchema): string {
  if (KindGuard.IsLiteral(schema)) return JSON.stringify(schema.const);
  if (KindGuard.IsUnion(schema)) {
    if (schema.anyOf.every((m) => KindGuard.IsLiteral(m))) return listOptions(schema.anyOf.map((m) => m.const));
    return [...new Set(schema.anyOf.map(describeExpected))].join(' or ');
  }
  if (KindGuard.IsInteger(schema)) return `an integer${range(schema.minimum, schema.maximum)}`;
  if (KindGuard.IsNumber(schema)) return `a number${range(schema.minimum, schema.maximum)}`;
  if (KindGuard.IsBoolean(schema)) return 'true or false';
  if (KindGuard.IsString(schema)) {
    let text = 'a string';
    if (schema.pattern !== undefined) text += ` matching ${schema.pattern}`;
    const { minLength: min, maxLength: max } = schema;
    if (min !== undefined || max !== undefined) {
      text += min !== undefined && max !== undefined ? ` of ${min} to ${max} characters` : range(min, max, ' characters');
    }
    return text;
  }
  if (KindGuard.IsArray(schema)) {
    if (schema.minItems !== undefined && schema.minItems > 0) return `a list of at least ${plural(schema.minItems, 'item')}`;
    return 'a list';
  }
  if (KindGuard.IsObject(schema) || KindGuard.IsRecord(schema)) return 'a mapping';
  return 'a valid value';
}

/** What was found. The value of a secret key is never repeated, only its shape. */
export function describeValue(value: unknown, key?: string | number): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : `a list of ${plural(value.length, 'item')}`;
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') {
    if (isSecretKey(key)) return `a string of ${plural(value.length, 'character')}`;
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  }
  return String(value);
}
