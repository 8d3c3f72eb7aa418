// One line of a CSV feed or fingerprint list (SSLBL, Feodo, JA4+ mappings): fields split on
// commas outside double quotes, quotes dropped, each field trimmed. No multi-line fields: the
// lists plugins read have none.
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}
