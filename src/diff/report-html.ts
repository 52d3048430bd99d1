/** The diff report as one self-contained HTML page: a table per package, each collapsed in a <details>. */
import type { DiffReport } from './diff-images.ts';
import { describeChange, groupTitle } from './report-text.ts';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

export function formatHtmlReport(r: DiffReport): string {
  const title = `kiln diff ${r.a} ${r.b}`;
  const body: string[] = [`<h1>${escape(title)}</h1>`];
  if (r.identical) body.push(`<p>Identical (${r.entries.a} paths).</p>`);
  for (const g of r.groups) {
    body.push(`<details><summary>${escape(groupTitle(g))}: ${g.changes.length} paths</summary>`, '<table><tr><th>path</th><th>change</th></tr>');
    for (const c of g.changes) {
      const line = describeChange(c);
      const what = line.slice(line.indexOf('  ') + 2);
      const text = r.textDiffs.get(c.path);
      body.push(`<tr class="${c.kind}"><td>${escape(`/${c.path}`)}</td><td>${escape(`${c.kind}: ${what}`)}${text ? `<pre>${escape(text)}</pre>` : ''}</td></tr>`);
    }
    body.push('</table></details>');
  }
  const style = 'body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}tr.added{background:#efe}tr.removed{background:#fee}pre{margin:0}';
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escape(title)}</title><style>${style}</style></head><body>\n${body.join('\n')}\n</body></html>\n`;
}
