// Schema errors in the reader's terms: one issue per problem, at the node to fix, saying what
// was expected. TypeBox's raw errors are exact but noisy (a union that matches no member only
// says so), so a failing union is narrowed to the member the user meant and checked again.
import { KindGuard, type TSchema, type TUnion } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { describeExpected, describeValue, listOptions } from './describe.ts';
import { formatKeyPath, pointerToKeyPath, type KeyPath } from './key-path.ts';
import { didYouMean } from './suggest.ts';
import { chooseUnionMember } from './union-member.ts';

/**
 * A problem found in the parsed value, before it is given a file position. `at` picks the node:
 * the value itself, the key that holds it (for unknown keys), or the mapping that lacks it.
 */
export interface RawIssue {
  path: KeyPath;
  at: 'value' | 'key' | 'parent';
  message: string;
}

export function schemaIssues(schema: TSchema, value: unknown): RawIssue[] {
  const out: RawIssue[] = [];
  collect(schema, value, [], out);
  // One issue per node: a value breaking two rules of its schema (pattern and length) is one
  // mistake, and the first message already says what is expected.
  const seen = new Set<string>();
  return out.filter((issue) => {
    const id = `${formatKeyPath(issue.path)}\0${issue.at}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function collect(schema: TSchema, value: unknown, base: KeyPath, out: RawIssue[]): void {
  for (const error of Value.Errors(schema, value)) {
    const path = [...base, ...pointerToKeyPath(error.path, value)];
    const key = path.at(-1);
    // A missing key is also checked against its own schema ("expected a string, got nothing");
    // the "missing required key" error already says it all.
    if (error.value === undefined && error.type !== ValueErrorType.ObjectRequiredProperty) continue;
    switch (error.type) {
      case ValueErrorType.ObjectRequiredProperty:
        out.push({ path, at: 'parent', message: `missing required key ${JSON.stringify(key)}` });
        break;
      case ValueErrorType.ObjectAdditionalProperties:
        out.push({ path, at: 'key', message: unknownKeyMessage(String(key), error.schema) });
        break;
      case ValueErrorType.Union:
        collectUnion(error, path, out);
        break;
      default:
        out.push({ path, at: 'value', message: mismatch(error, key) });
    }
  }
}

function collectUnion(error: ValueError, path: KeyPath, out: RawIssue[]): void {
  const choice = chooseUnionMember(error.schema as TUnion, error.value);
  if (choice?.member) {
    collect(choice.member, error.value, path, out);
    return;
  }
  if (choice === undefined) {
    out.push({ path, at: 'value', message: mismatch(error, path.at(-1)) });
    return;
  }
  const expected = listOptions(choice.options);
  if (!choice.present) {
    out.push({
      path: [...path, choice.key],
      at: 'parent',
      message: `missing required key ${JSON.stringify(choice.key)} (expected ${expected})`,
    });
    return;
  }
  const got = (error.value as Record<string, unknown>)[choice.key];
  const hint = typeof got === 'string' ? didYouMean(got, choice.options.map(String)) : '';
  out.push({ path: [...path, choice.key], at: 'value', message: `expected ${expected}, got ${describeValue(got)}${hint}` });
}

function unknownKeyMessage(key: string, objectSchema: TSchema): string {
  const known = KindGuard.IsObject(objectSchema) ? Object.keys(objectSchema.properties) : [];
  const hint = didYouMean(key, known);
  if (hint !== '' || known.length === 0) return `unknown key ${JSON.stringify(key)}${hint}`;
  return `unknown key ${JSON.stringify(key)} (known keys: ${known.join(', ')})`;
}

function mismatch(error: ValueError, key: string | number | undefined): string {
  let got = describeValue(error.value, key);
  const lengthError = error.type === ValueErrorType.StringMinLength || error.type === ValueErrorType.StringMaxLength;
  if (lengthError && typeof error.value === 'string' && got.startsWith('"')) got += ` (${error.value.length} characters)`;
  let hint = '';
  if (typeof error.value === 'string' && KindGuard.IsUnion(error.schema)) {
    const options = error.schema.anyOf.filter((m) => KindGuard.IsLiteral(m)).map((m) => String(m.const));
    hint = didYouMean(error.value, options);
  }
  return `expected ${describeExpected(error.schema)}, got ${got}${hint}`;
}
