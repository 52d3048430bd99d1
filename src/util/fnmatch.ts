/**
 * fnmatch(3) patterns as regular expressions, as glibc matches them in a
 * UTF-8 locale: `*`, `?`, bracket expressions with POSIX classes, backslash
 * escapes. Used by the pacman hooks (no flags: `*` matches `/` and a leading
 * `.`) and by prune.remove (one path component at a time, with FNM_PERIOD).
 */

export interface FnmatchFlags {
  /** FNM_PERIOD: a leading `.` is matched only by a literal `.` in the pattern, as in the shell. */
  period?: boolean;
}

/** POSIX character classes, ASCII only (glibc would also match non-ASCII letters in a UTF-8 locale). */
const CHARACTER_CLASSES = new Map([
  ['alnum', '0-9A-Za-z'],
  ['alpha', 'A-Za-z'],
  ['blank', ' \\t'],
  ['cntrl', '\\x00-\\x1f\\x7f'],
  ['digit', '0-9'],
  ['graph', '!-~'],
  ['lower', 'a-z'],
  ['print', ' -~'],
  ['punct', '!-/:-@\\[-`{-~'],
  ['space', ' \\t-\\r'],
  ['upper', 'A-Z'],
  ['xdigit', '0-9A-Fa-f'],
]);

function literal(char: string): string {
  return /^\w$/.test(char) ? char : `\\u{${char.codePointAt(0)!.toString(16)}}`;
}

/** Where `[.c.]`, `[:name:]` or `[=c=]` opening at `chars[start]` ends (after its `]`), if it does. */
function closingOf(chars: string[], start: number): number | undefined {
  const kind = chars[start + 1];
  for (let i = start + 2; i + 1 < chars.length; i++) if (chars[i] === kind && chars[i + 1] === ']') return i + 2;
  return undefined;
}

/**
 * A bracket expression from `chars[start]` (just after its `[`), as glibc
 * reads one: `!` or `^` negates, a `]` first is literal, a backslash escapes,
 * a reversed range matches nothing. Gives the regular expression and the
 * index after the closing `]`; undefined: no closing `]` (the `[` is then an
 * ordinary character); null: an error, which makes fnmatch match nothing.
 */
function bracket(chars: string[], start: number): { source: string; end: number } | undefined | null {
  let i = start;
  const negated = chars[i] === '!' || chars[i] === '^';
  if (negated) i++;
  let members = '';
  /** One character (`c`, `\c` or `[.c.]`); null: an error; undefined: the pattern ends. */
  const element = (): string | null | undefined => {
    if (chars[i] === '[' && chars[i + 1] === '.') {
      const end = closingOf(chars, i);
      if (end === undefined) return null;
      const name = chars.slice(i + 2, end - 2);
      i = end;
      return name.length === 1 ? name[0] : null;
    }
    if (chars[i] === '\\') i++;
    return chars[i++];
  };
  for (let first = true; ; first = false) {
    if (i >= chars.length) return undefined;
    if (chars[i] === ']' && !first) break;
    // [:class:] and [=c=]; anything else there makes the `[` an ordinary member.
    const kind = chars[i + 1];
    const end = chars[i] === '[' && (kind === ':' || kind === '=') ? closingOf(chars, i) : undefined;
    const name = end === undefined ? undefined : chars.slice(i + 2, end - 2);
    const named = name && (kind === ':' ? CHARACTER_CLASSES.get(name.join('')) : name.length === 1 && literal(name[0]!));
    if (named) {
      members += named;
      i = end!;
      continue;
    }
    const low = element();
    if (typeof low !== 'string') return low;
    if (chars[i] !== '-' || i + 1 >= chars.length || chars[i + 1] === ']') {
      members += literal(low);
      continue;
    }
    i++;
    const high = element();
    if (typeof high !== 'string') return high;
    if (low.codePointAt(0)! <= high.codePointAt(0)!) members += `${literal(low)}-${literal(high)}`;
  }
  return { source: `[${negated ? '^' : ''}${members}]`, end: i + 1 };
}

/**
 * fnmatch(pattern, string, flags) as glibc does it in a UTF-8 locale: `*`
 * and `?` match any characters, `/` included (FNM_PATHNAME is not needed:
 * kiln matches whole paths for the hooks, single names for prune), and a
 * leading `.` unless `period` is set. null: the pattern is an error (a
 * trailing backslash, a bad `[.c.]`) and matches nothing. Only ASCII is sure
 * to match as glibc does: for other characters, glibc's answer depends on its
 * version and locale (2.36 in C.UTF-8 lets `?` and `??` both match `é`).
 */
export function fnmatchRegExp(pattern: string, flags: FnmatchFlags = {}): RegExp | null {
  const chars = [...pattern];
  const literalPeriod = chars[0] === '.' || (chars[0] === '\\' && chars[1] === '.');
  let source = flags.period && !literalPeriod ? '(?!\\.)' : '';
  for (let i = 0; i < chars.length; ) {
    const char = chars[i]!;
    if (char === '*') {
      source += '.*';
      while (chars[i] === '*') i++;
    } else if (char === '?') {
      source += '.';
      i++;
    } else if (char === '\\') {
      if (i + 1 === chars.length) return null;
      source += literal(chars[i + 1]!);
      i += 2;
    } else if (char === '[') {
      const expression = bracket(chars, i + 1);
      if (expression === null) return null;
      source += expression ? expression.source : literal(char);
      i = expression ? expression.end : i + 1;
    } else {
      source += literal(char);
      i++;
    }
  }
  return new RegExp(`^${source}$`, 'su');
}

/** Whether `text` matches `pattern` (false for a pattern that is an error). */
export function fnmatch(pattern: string, text: string, flags: FnmatchFlags = {}): boolean {
  return fnmatchRegExp(pattern, flags)?.test(text) ?? false;
}
