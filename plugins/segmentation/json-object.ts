// One line of a JSON-lines file read as an object: the feeds, the benign JA3 lists and the
// labelled flow records all take only objects, and each says why a line is not one.

/** The object the text holds, or why it holds none ('not JSON', 'not a JSON object'). */
export function parseJsonObject(text: string): Record<string, unknown> | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  return v as Record<string, unknown>;
}
