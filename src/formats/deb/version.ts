/**
 * Debian version numbers: `[epoch:]upstream[-revision]`, ordered exactly as
 * `dpkg --compare-versions` orders them (deb-version(7)).
 */

/** A version relation operator as written in Depends and friends. */
export type VersionOp = '<<' | '<=' | '=' | '>=' | '>>';

/** The obsolete one-character forms, which mean `<=` and `>=`. */
export type ObsoleteVersionOp = '<' | '>';

const DIGIT_0 = 48;
const DIGIT_9 = 57;
const TILDE = 126;

function isDigit(code: number): boolean {
  return code >= DIGIT_0 && code <= DIGIT_9;
}

function isLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/**
 * The weight of one character in a non-digit run: `~` before the end of the
 * string, the end before letters, letters before everything else.
 * `code` is NaN past the end of the string.
 */
function charOrder(code: number): number {
  if (Number.isNaN(code) || isDigit(code)) return 0;
  if (isLetter(code)) return code;
  if (code === TILDE) return -1;
  return code + 256;
}

/** Compare `a` and `b` as numbers of any length (digits only, maybe empty). */
function compareDigitStrings(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && a.charCodeAt(i) === DIGIT_0) i++;
  while (j < b.length && b.charCodeAt(j) === DIGIT_0) j++;
  const lengthDifference = a.length - i - (b.length - j);
  if (lengthDifference !== 0) return lengthDifference;
  for (; i < a.length; i++, j++) {
    const difference = a.charCodeAt(i) - b.charCodeAt(j);
    if (difference !== 0) return difference;
  }
  return 0;
}

/**
 * Compare two upstream versions or two revisions: alternating runs of
 * non-digits (compared character by character with `charOrder`) and digits
 * (compared as numbers of any length).
 */
function comparePart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const difference = charOrder(a.charCodeAt(i)) - charOrder(b.charCodeAt(j));
      if (difference !== 0) return difference;
      i++;
      j++;
    }
    while (i < a.length && a.charCodeAt(i) === DIGIT_0) i++;
    while (j < b.length && b.charCodeAt(j) === DIGIT_0) j++;
    let firstDifference = 0;
    while (i < a.length && j < b.length && isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (firstDifference === 0) firstDifference = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && isDigit(a.charCodeAt(i))) return 1;
    if (j < b.length && isDigit(b.charCodeAt(j))) return -1;
    if (firstDifference !== 0) return firstDifference;
  }
  return 0;
}

interface VersionParts {
  epoch: string;
  upstream: string;
  revision: string;
}

function splitVersion(version: string): VersionParts {
  const text = version.trim();
  const colon = text.indexOf(':');
  const hyphen = text.lastIndexOf('-');
  const upstreamStart = colon + 1;
  const upstreamEnd = hyphen > colon ? hyphen : text.length;
  return {
    epoch: colon > 0 ? text.slice(0, colon) : '',
    upstream: text.slice(upstreamStart, upstreamEnd),
    revision: hyphen > colon ? text.slice(hyphen + 1) : '',
  };
}

/**
 * Order two Debian versions like `dpkg --compare-versions`: negative when
 * `a` is older, 0 when equal (`1.0` = `0:1.0` = `1.0-0`), positive when newer.
 */
export function compareVersions(a: string, b: string): number {
  if (a === b) return 0;
  const left = splitVersion(a);
  const right = splitVersion(b);
  return (
    compareDigitStrings(left.epoch, right.epoch) ||
    comparePart(left.upstream, right.upstream) ||
    comparePart(left.revision, right.revision)
  );
}

/** Whether `version` satisfies the relation `(op wanted)`, e.g. `(>= 1.2)`. */
export function satisfiesVersion(version: string, op: VersionOp | ObsoleteVersionOp, wanted: string): boolean {
  const order = compareVersions(version, wanted);
  switch (op) {
    case '<<':
      return order < 0;
    case '<=':
    case '<':
      return order <= 0;
    case '=':
      return order === 0;
    case '>=':
    case '>':
      return order >= 0;
    case '>>':
      return order > 0;
  }
}
