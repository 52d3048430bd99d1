/**
 * A short unified diff of two texts (the common first and last lines set
 * aside, then a line-based longest common subsequence of the rest, three
 * lines of context), and the test of whether content is text at all.
 */

/** Files up to this size are read for a text diff. */
export const TEXT_DIFF_MAX_BYTES = 1024 * 1024;
/** When the lines between the common first and last ones are more than this, the texts are summarised, not diffed. */
const MAX_LINES = 2000;
const CONTEXT = 3;

/** Valid UTF-8 without NUL bytes. */
export function isText(data: Buffer): boolean {
  if (data.includes(0)) return false;
  return Buffer.from(data.toString('utf8'), 'utf8').equals(data);
}

type Op = { kind: ' ' | '-' | '+'; line: string; ai: number; bi: number };

function lines(text: string): string[] {
  const l = text.split('\n');
  if (l.length && l[l.length - 1] === '') l.pop();
  return l;
}

function editScript(allA: string[], allB: string[]): Op[] | undefined {
  let head = 0;
  while (head < allA.length && head < allB.length && allA[head] === allB[head]) head++;
  let tail = 0;
  while (tail < allA.length - head && tail < allB.length - head && allA[allA.length - 1 - tail] === allB[allB.length - 1 - tail]) tail++;
  const a = allA.slice(head, allA.length - tail);
  const b = allB.slice(head, allB.length - tail);
  if (a.length > MAX_LINES || b.length > MAX_LINES) return undefined;
  const ops: Op[] = [];
  for (let k = 0; k < head; k++) ops.push({ kind: ' ', line: allA[k] as string, ai: k + 1, bi: k + 1 });
  for (const o of middleScript(a, b)) ops.push({ ...o, ai: o.ai + head, bi: o.bi + head });
  for (let k = tail; k > 0; k--) ops.push({ kind: ' ', line: allA[allA.length - k] as string, ai: allA.length - k + 1, bi: allB.length - k + 1 });
  return ops;
}

function middleScript(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = a[i] === b[j] ? (lcs[(i + 1) * w + j + 1] as number) + 1 : Math.max(lcs[(i + 1) * w + j] as number, lcs[i * w + j + 1] as number);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ kind: ' ', line: a[i++] as string, ai: i, bi: ++j });
    else if (i < n && (j === m || (lcs[(i + 1) * w + j] as number) >= (lcs[i * w + j + 1] as number))) ops.push({ kind: '-', line: a[i++] as string, ai: i, bi: j });
    else ops.push({ kind: '+', line: b[j++] as string, ai: i, bi: j });
  }
  return ops;
}

/** The unified diff of `a` and `b` (labelled `a/PATH`, `b/PATH`), or a one-line summary when they are too long. */
export function unifiedDiff(path: string, a: string, b: string): string {
  const la = lines(a);
  const lb = lines(b);
  const ops = editScript(la, lb);
  if (!ops) return `(${la.length} and ${lb.length} lines, too far apart for a diff)\n`;
  const out = [`--- a/${path}`, `+++ b/${path}`];
  let k = 0;
  while (k < ops.length) {
    while (k < ops.length && (ops[k] as Op).kind === ' ') k++;
    if (k >= ops.length) break;
    const start = Math.max(0, k - CONTEXT);
    let end = k;
    // Extend the hunk while the next change is within two contexts.
    for (;;) {
      while (end < ops.length && (ops[end] as Op).kind !== ' ') end++;
      let next = end;
      while (next < ops.length && (ops[next] as Op).kind === ' ') next++;
      if (next < ops.length && next - end <= 2 * CONTEXT) end = next;
      else {
        end = Math.min(ops.length, end + CONTEXT);
        break;
      }
    }
    const hunk = ops.slice(start, end);
    const aLines = hunk.filter((o) => o.kind !== '+').length;
    const bLines = hunk.filter((o) => o.kind !== '-').length;
    const first = hunk[0] as Op;
    const aStart = first.kind === '+' ? first.ai : first.ai - 1;
    const bStart = first.kind === '-' ? first.bi : first.bi - 1;
    out.push(`@@ -${aLines ? aStart + 1 : aStart},${aLines} +${bLines ? bStart + 1 : bStart},${bLines} @@`);
    for (const o of hunk) out.push(`${o.kind}${o.line}`);
    k = end;
  }
  return out.join('\n') + '\n';
}
