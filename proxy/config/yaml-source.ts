// The YAML side of loading: syntax errors with positions, and finding where a key path sits in
// the file so that later errors (schema, semantic, certificates) can point at it too.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type YAMLError } from 'yaml';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import type { KeyPath } from './key-path.ts';

export interface Position {
  line: number;
  col: number;
}

/** Which node of a key path to point at: its value, its key, or the mapping that holds it. */
export type NodeTarget = 'value' | 'key' | 'parent';

export interface YamlSource {
  value: unknown;
  locate(path: KeyPath, at?: NodeTarget): Position;
  /** Whether the path was written in the file (as opposed to filled in by a default). */
  has(path: KeyPath): boolean;
}

interface Ranged {
  range?: [number, number, number] | null;
}

const start: Position = { line: 1, col: 1 };

export function parseYaml(text: string, file: string): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const pos = (offset: number): Position => lines.linePos(offset);
  const problems: ConfigIssue[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    problems.push({ file, path: '', ...syntaxIssue(doc, text, e, pos) });
  }
  visit(doc, {
    Alias(_, alias) {
      if (alias.resolve(doc) !== undefined) return;
      const at = alias.range ? pos(alias.range[0]) : start;
      problems.push({ file, path: '', ...at, message: `alias *${alias.source} has no anchor &${alias.source} before it` });
    },
  });
  let value: unknown;
  if (problems.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      problems.push({ file, path: '', ...start, message: (err as Error).message });
    }
  }
  if (problems.length > 0) throw new ConfigError(onePerPosition(problems));

  function find(path: KeyPath): { found: boolean; node: unknown; key: unknown } {
    let node: unknown = doc.contents;
    let key: unknown;
    for (const segment of path) {
      const container = isAlias(node) ? node.resolve(doc) : node;
      if (isMap(container)) {
        const pair = container.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) return { found: false, node: container, key };
        node = pair.value;
        key = pair.key;
      } else if (isSeq(container) && typeof segment === 'number' && segment < container.items.length) {
        node = container.items[segment];
        key = undefined;
      } else {
        return { found: false, node: container, key };
      }
    }
    return { found: true, node, key };
  }

  // An empty value (`port:`) has a zero-width node just past the colon: the key is a better place.
  const nodePos = (node: unknown): Position | undefined => {
    const range = (node as Ranged | null | undefined)?.range;
    if (!range) return undefined;
    if (isScalar(node) && node.value === null && range[0] === range[1]) return undefined;
    return pos(range[0]);
  };

  function locate(path: KeyPath, at: NodeTarget = 'value'): Position {
    if (at === 'parent') return locate(path.slice(0, -1), 'value');
    const { found, node, key } = find(path);
    if (found && at === 'key') return nodePos(key) ?? nodePos(node) ?? start;
    if (found) return nodePos(node) ?? nodePos(key) ?? start;
    // Not in the file (filled by a default): point at the closest ancestor that is.
    return nodePos(node) ?? nodePos(key) ?? start;
  }

  return { value, locate, has: (path) => find(path).found };
}

// Codes (and one message) that in practice mean a line is indented wrongly.
const indentationCodes = new Set(['BAD_INDENT', 'BLOCK_AS_IMPLICIT_KEY', 'MULTILINE_IMPLICIT_KEY']);

function syntaxIssue(doc: Document, text: string, e: YAMLError, pos: (offset: number) => Position): Position & { message: string } {
  let offset = e.pos[0];
  if (e.code === 'DUPLICATE_KEY') {
    const dup = duplicateKey(doc, offset);
    if (dup) {
      const where = dup.first === undefined ? '' : ` (first on line ${pos(dup.first).line})`;
      return { ...pos(offset), message: `duplicate key ${JSON.stringify(dup.name)}${where}` };
    }
  }
  if (e.code === 'MISSING_CHAR' && /quote/i.test(e.message)) {
    // The parser notices only at the end of the file; the opening quote is what to fix.
    const opening = unclosedQuoteStart(doc, offset);
    if (opening !== undefined) {
      return { ...pos(opening), message: `missing closing ${text[opening]} for the string that starts here` };
    }
  }
  // Indentation errors are reported at the start of the line; the first character is clearer.
  while (text[offset] === ' ') offset++;
  let message = e.message.charAt(0).toLowerCase() + e.message.slice(1);
  if (indentationCodes.has(e.code) || /^sequence item without/.test(message)) message += ' (check the indentation)';
  return { ...pos(offset), message };
}

function unclosedQuoteStart(doc: Document, offset: number): number | undefined {
  let found: number | undefined;
  visit(doc, {
    Scalar(_, node) {
      const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
      if (quoted && node.range && node.range[0] < offset && node.range[1] >= offset) found = node.range[0];
    },
  });
  return found;
}

// yaml can report one mistake twice at the same spot, in two wordings; the first is enough.
function onePerPosition(problems: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return problems
    .sort((a, b) => a.line - b.line || a.col - b.col)
    .filter((p) => {
      const at = `${p.line}:${p.col}`;
      if (seen.has(at)) return false;
      seen.add(at);
      return true;
    });
}

function duplicateKey(doc: Document, offset: number): { name: string; first?: number } | undefined {
  let found: { name: string; first?: number } | undefined;
  visit(doc, {
    Map(_, map) {
      const dup = map.items.find((p) => isScalar(p.key) && p.key.range?.[0] === offset);
      if (!dup || !isScalar(dup.key)) return;
      const name = String(dup.key.value);
      const earlier = map.items.find((p) => isScalar(p.key) && String(p.key.value) === name);
      const first = earlier !== dup && isScalar(earlier?.key) ? earlier.key.range?.[0] : undefined;
      found = first === undefined ? { name } : { name, first };
    },
  });
  return found;
}
