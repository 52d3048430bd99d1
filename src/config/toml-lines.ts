/**
 * smol-toml gives no positions for values, so kiln finds the line of each
 * `key = value` itself: a small scanner over table headers and assignments.
 */
export function tomlKeyLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  let table: string[] = [];
  const rows = text.split('\n');
  let inMultiline: string | undefined;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as string;
    if (inMultiline) {
      if (row.includes(inMultiline)) inMultiline = undefined;
      continue;
    }
    const header = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/.exec(row);
    if (header) {
      table = splitDotted(header[1] as string);
      lines.set(table.join('.'), i + 1);
      continue;
    }
    const assign = /^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=(.*)$/.exec(row);
    if (assign) {
      const key = [...table, ...splitDotted(assign[1] as string)].join('.');
      if (!lines.has(key)) lines.set(key, i + 1);
      const rest = assign[2] as string;
      for (const quote of ['"""', "'''"]) {
        const first = rest.indexOf(quote);
        if (first >= 0 && rest.indexOf(quote, first + 3) < 0) inMultiline = quote;
      }
    }
  }
  return lines;
}

function splitDotted(key: string): string[] {
  const parts: string[] = [];
  const re = /\s*("([^"]*)"|'([^']*)'|[A-Za-z0-9_-]+)\s*(\.|$)/y;
  let m: RegExpExecArray | null;
  while ((m = re.exec(key)) && m[0].length > 0) parts.push(m[2] ?? m[3] ?? (m[1] as string));
  return parts;
}
