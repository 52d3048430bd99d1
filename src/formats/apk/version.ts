/**
 * Alpine's version order, as apk compares: a version is read as a row of
 * tokens (numbers, one letter, `_suffix` with an optional number, `~hash`,
 * `-rN`), compared one pair at a time. A number after a dot with leading
 * zeros counts as the negative number of its zeros (so `1.01` < `1.1`, as
 * Gentoo's rule); `_alpha`, `_beta`, `_pre`, `_rc` sort below the version
 * without them, `_cvs`, `_svn`, `_git`, `_hg`, `_p` above. When every common
 * token is equal, the longer version is the greater one, unless what it has
 * more begins with a pre-release suffix. A version that breaks the grammar
 * is compared up to the break (apk's "invalid: string sort" case).
 */

/** Token kinds in the order the grammar allows them; a step back is only allowed where noted in nextKind. */
const enum Kind {
  Invalid = -1,
  DigitOrZero,
  Digit,
  Letter,
  Suffix,
  SuffixNumber,
  Hash,
  Revision,
  End,
}

const PRE_RELEASE = ['alpha', 'beta', 'pre', 'rc'];
const POST_RELEASE = ['cvs', 'svn', 'git', 'hg', 'p'];

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isLower = (c: string | undefined) => c !== undefined && c >= 'a' && c <= 'z';
const isHex = (c: string | undefined) => isDigit(c) || (c !== undefined && c >= 'a' && c <= 'f');

/** A cursor over one version string. */
class Reader {
  kind: Kind = Kind.Digit;
  pos = 0;
  constructor(readonly text: string) {}

  get rest(): number {
    return this.text.length - this.pos;
  }

  /** The kind of the token at the cursor, after a separator (consumed) or right after the previous token. */
  private nextKind(): void {
    const c = this.text[this.pos];
    let next: Kind = Kind.Invalid;
    if (this.rest === 0 || c === '\0') next = Kind.End;
    else if ((this.kind === Kind.Digit || this.kind === Kind.DigitOrZero) && isLower(c)) next = Kind.Letter;
    else if (this.kind === Kind.Letter && isDigit(c)) next = Kind.Digit;
    else if (this.kind === Kind.Suffix && isDigit(c)) next = Kind.SuffixNumber;
    else {
      if (c === '.') next = Kind.DigitOrZero;
      else if (c === '_') next = Kind.Suffix;
      else if (c === '~') next = Kind.Hash;
      else if (c === '-' && this.text[this.pos + 1] === 'r') {
        next = Kind.Revision;
        this.pos++;
      }
      this.pos++;
    }
    // Tokens come in grammar order; going back is allowed only for another number part, another suffix, or a number after a letter.
    if (next < this.kind) {
      const allowed =
        (next === Kind.DigitOrZero && this.kind === Kind.Digit) || (next === Kind.Suffix && this.kind === Kind.SuffixNumber) || (next === Kind.Digit && this.kind === Kind.Letter);
      if (!allowed) next = Kind.Invalid;
    }
    this.kind = next;
  }

  /** The value of the token at the cursor; moves past it and finds the next token's kind. */
  token(): number {
    if (this.rest <= 0) {
      this.kind = Kind.End;
      return 0;
    }
    const t = this.text;
    let value = 0;
    let end = this.pos;
    let then: Kind | undefined;
    switch (this.kind) {
      case Kind.DigitOrZero:
        if (t[end] === '0') {
          while (t[end] === '0') end++;
          value = -(end - this.pos);
          // The rest of the number is a token of its own; anything else (a suffix, a letter, -r) follows as after any number.
          if (isDigit(t[end])) then = Kind.Digit;
          else this.kind = Kind.Digit;
          break;
        }
      // falls through: a number without leading zeros
      case Kind.Digit:
      case Kind.SuffixNumber:
      case Kind.Revision:
        while (isDigit(t[end])) value = value * 10 + (t.charCodeAt(end++) - 48);
        break;
      case Kind.Letter:
        value = t.charCodeAt(end++);
        break;
      case Kind.Hash:
        // A commit hash says where the build came from; it does not order versions.
        while (isHex(t[end])) end++;
        break;
      case Kind.Suffix: {
        const word = (list: string[]) => list.findIndex((s) => t.startsWith(s, end));
        const pre = word(PRE_RELEASE);
        const post = pre < 0 ? word(POST_RELEASE) : -1;
        if (pre >= 0) {
          value = pre - PRE_RELEASE.length;
          end += (PRE_RELEASE[pre] as string).length;
        } else if (post >= 0) {
          value = post;
          end += (POST_RELEASE[post] as string).length;
        } else {
          this.kind = Kind.Invalid;
          return -1;
        }
        break;
      }
      default:
        this.kind = Kind.Invalid;
        return -1;
    }
    this.pos = end;
    if (this.rest === 0) this.kind = Kind.End;
    else if (then !== undefined) this.kind = then;
    else this.nextKind();
    return value;
  }
}

/** -1, 0 or 1 as `a` is older than, the same as, or newer than `b`; `fuzzy` (the `~` operator): equal when one is a prefix of the other by tokens. */
export function compareApkVersions(a: string, b: string, fuzzy = false): -1 | 0 | 1 {
  const ra = new Reader(a);
  const rb = new Reader(b);
  let av = 0;
  let bv = 0;
  while (ra.kind === rb.kind && ra.kind !== Kind.End && ra.kind !== Kind.Invalid && av === bv) {
    av = ra.token();
    bv = rb.token();
  }
  if (av < bv) return -1;
  if (av > bv) return 1;
  if (ra.kind === rb.kind || fuzzy) return 0;
  // All common tokens are equal: the longer version is newer, unless it goes on with a pre-release suffix.
  if (ra.kind === Kind.Suffix && preReleaseNext(ra)) return -1;
  if (rb.kind === Kind.Suffix && preReleaseNext(rb)) return 1;
  if (ra.kind > rb.kind) return -1;
  if (rb.kind > ra.kind) return 1;
  return 0;
}

function preReleaseNext(r: Reader): boolean {
  const copy = new Reader(r.text);
  copy.pos = r.pos;
  copy.kind = r.kind;
  return copy.token() < 0;
}

/** Whether apk accepts `version` as a version: the whole string follows the grammar. */
export function isValidApkVersion(version: string): boolean {
  const r = new Reader(version);
  while (r.kind !== Kind.End && r.kind !== Kind.Invalid) r.token();
  return r.kind === Kind.End;
}
