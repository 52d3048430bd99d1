/**
 * smol-toml gives no positions for values, so kiln finds the line of each
 * `key = value` itself: a small scanner over table headers and assignments.
 * Keys inside the Nth `[[array]]` table are named `array[N].key` (N from 0);
 * the array's first header is also recorded under its plain name.
 */
export function tomlKeyLines(text: string): Map<string, number> {
  return scanTomlLines(text).lines;
}

export interface TomlLines {
  /** The line of each key and table header as written. */
  lines: Map<string, number>;
  /** The first line of anything inside a table that has no line of its own (`[a.b.c]` opens a and a.b without naming them). */
  under: Map<string, number>;
}

export function scanTomlLines(text: string): TomlLines {
  const lines = new Map<string, number>();
  const under = new Map<string, number>();
  const note = (path: string[], line: number) => {
    for (let n = path.length - 1; n > 0; n--) {
      const prefix = path.slice(0, n).join('.');
      if (under.has(prefix)) break;
      under.set(prefix, line);
    }
  };
  const arrays = new Map<string, number>();
  let table: string[] = [];
  const rows = text.split('\n');
  let inMultiline: string | undefined;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as string;
    if (inMultiline) {
      if (row.includes(inMultiline)) inMultiline = undefined;
      continue;
    }
    const header = /^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/.exec(row);
    if (header) {
      const parts = splitDotted(header[2] as string);
      table = indexed(parts, arrays);
      if (header[1] === '[[') {
        const plain = table.join('.');
        if (!lines.has(plain)) lines.set(plain, i + 1);
        const n = arrays.get(parts.join('.')) ?? 0;
        arrays.set(parts.join('.'), n + 1);
        table = indexed(parts, arrays);
      }
      lines.set(table.join('.'), i + 1);
      note(table, i + 1);
      continue;
    }
    const assign = /^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=(.*)$/.exec(row);
    if (assign) {
      const path = [...table, ...splitDotted(assign[1] as string)];
      const key = path.join('.');
      if (!lines.has(key)) lines.set(key, i + 1);
      note(path, i + 1);
      const rest = assign[2] as string;
      for (const quote of ['"""', "'''"]) {
        const first = rest.indexOf(quote);
        if (first >= 0 && rest.indexOf(quote, first + 3) < 0) inMultiline = quote;
      }
    }
  }
  return { lines, under };
}

/** The path with each array-of-tables prefix pointing at its current (last) element. */
function indexed(parts: string[], arrays: Map<string, number>): string[] {
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const count = arrays.get(parts.slice(0, i + 1).join('.'));
    out.push(count ? `${parts[i]}[${count - 1}]` : (parts[i] as string));
  }
  return out;
}

function splitDotted(key: string): string[] {
  const parts: string[] = [];
  const re = /\s*("([^"]*)"|'([^']*)'|[A-Za-z0-9_-]+)\s*(\.|$)/y;
  let m: RegExpExecArray | null;
  while ((m = re.exec(key)) && m[0].length > 0) parts.push(m[2] ?? m[3] ?? (m[1] as string));
  return parts;
}
