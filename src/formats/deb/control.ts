/**
 * deb822 control data (Packages indexes, /var/lib/dpkg/status, DEBIAN/control):
 * stanzas of `Name: value` fields separated by blank lines, with values
 * continued on lines that start with a space or a tab.
 */

import { UserError } from '../../util/errors.ts';

/**
 * One stanza: field name exactly as written -> value. A multi-line value has
 * its lines joined with "\n", each continuation line without its leading
 * space, and a " ." line stored as an empty line.
 */
export type Stanza = Map<string, string>;

const CARRIAGE_RETURN = 13;
const SPACE = 32;
const TAB = 9;
const HASH = 35;

function isBlank(code: number): boolean {
  return code === SPACE || code === TAB || code === CARRIAGE_RETURN;
}

/** `text.slice(start, end)` without trailing blanks (and a trailing \r). */
function sliceTrimmedEnd(text: string, start: number, end: number): string {
  while (end > start && isBlank(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

/**
 * The first spelling seen of each field name, by its lower-case form
 * (bounded, in case of hostile input). Lets `field` answer a miss at once
 * for stanzas whose names are all spelt the usual way.
 */
const usualSpellings = new Map<string, string>();
const MAX_USUAL_SPELLINGS = 4096;

/** Whether `name` is the usual spelling of its field name (learning it if new). */
function isUsualSpelling(name: string): boolean {
  const lower = name.toLowerCase();
  const usual = usualSpellings.get(lower);
  if (usual !== undefined) return usual === name;
  if (usualSpellings.size >= MAX_USUAL_SPELLINGS) return false;
  usualSpellings.set(lower, name);
  return true;
}

/** A stanza made by parseStanzas, which knows whether all its field names are spelt the usual way. */
class ParsedStanza extends Map<string, string> {
  oddlySpelled = false;

  override set(name: string, value: string): this {
    if (!this.oddlySpelled && !isUsualSpelling(name)) this.oddlySpelled = true;
    return super.set(name, value);
  }
}

/** The parser's way to set a field whose spelling it has already checked. */
const setCheckedField = Map.prototype.set;

interface FieldName {
  name: string;
  usual: boolean;
}

/**
 * Field names repeat in every stanza; returning one shared string per name
 * (found by a hash of its characters, without slicing) spares a million
 * short-lived strings and the garbage collection they cost on a full index.
 */
class FieldNameTable {
  private readonly byHash = new Map<number, FieldName>();

  nameAt(text: string, start: number, end: number): FieldName {
    let hash = end - start;
    for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
    const known = this.byHash.get(hash);
    if (known !== undefined && known.name.length === end - start && text.startsWith(known.name, start)) return known;
    const name = text.slice(start, end);
    const entry = { name, usual: isUsualSpelling(name) };
    if (known === undefined) this.byHash.set(hash, entry);
    return entry;
  }
}

function lineNumberAt(text: string, position: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < position; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function malformed(text: string, position: number, lineEnd: number, what: string): UserError {
  const line = text.slice(position, Math.min(lineEnd, position + 60));
  return new UserError(`malformed control data at line ${lineNumberAt(text, position)}: ${what}: "${line}"`);
}

function isBlankLine(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isBlank(text.charCodeAt(i))) return false;
  return true;
}

/** Parse every stanza of deb822 text. Lines starting with `#` are comments. */
export function parseStanzas(text: string): Stanza[] {
  const stanzas: Stanza[] = [];
  const fieldNames = new FieldNameTable();
  let stanza: ParsedStanza | undefined;
  let name: string | undefined;
  let value = '';
  let position = 0;
  while (position < text.length) {
    let lineEnd = text.indexOf('\n', position);
    if (lineEnd === -1) lineEnd = text.length;
    const first = text.charCodeAt(position);
    if (isBlankLine(text, position, lineEnd)) {
      // A blank line (perhaps of spaces) ends the stanza.
      if (name !== undefined) setCheckedField.call(stanza, name, value);
      name = undefined;
      stanza = undefined;
    } else if (first === SPACE || first === TAB) {
      if (name === undefined) throw malformed(text, position, lineEnd, 'continuation line without a field');
      const line = sliceTrimmedEnd(text, position + 1, lineEnd);
      value += line === '.' ? '\n' : `\n${line}`;
    } else if (first !== HASH) {
      const colon = text.indexOf(':', position);
      if (colon === -1 || colon > lineEnd || colon === position) {
        throw malformed(text, position, lineEnd, 'expected "Name: value"');
      }
      if (name !== undefined) setCheckedField.call(stanza, name, value);
      if (stanza === undefined) {
        stanza = new ParsedStanza();
        stanzas.push(stanza);
      }
      let nameEnd = colon;
      while (nameEnd > position && isBlank(text.charCodeAt(nameEnd - 1))) nameEnd--;
      const fieldName = fieldNames.nameAt(text, position, nameEnd);
      if (!fieldName.usual) stanza.oddlySpelled = true;
      name = fieldName.name;
      let valueStart = colon + 1;
      while (valueStart < lineEnd && isBlank(text.charCodeAt(valueStart))) valueStart++;
      value = sliceTrimmedEnd(text, valueStart, lineEnd);
    }
    position = lineEnd + 1;
  }
  if (name !== undefined) setCheckedField.call(stanza, name, value);
  return stanzas;
}

/**
 * A field's value, looked up case-insensitively as Debian wants: the exact
 * spelling first (the common case, one Map look-up), then any other spelling.
 */
export function field(stanza: Stanza, name: string): string | undefined {
  const exact = stanza.get(name);
  if (exact !== undefined) return exact;
  if (stanza instanceof ParsedStanza && !stanza.oddlySpelled) {
    // Every name in this stanza is spelt the usual way: there is one other spelling to try, if any.
    const usual = usualSpellings.get(name.toLowerCase());
    return usual === undefined || usual === name ? undefined : stanza.get(usual);
  }
  for (const key of stanza.keys()) {
    if (key.length === name.length && equalsIgnoringAsciiCase(key, name)) return stanza.get(key);
  }
  return undefined;
}

function equalsIgnoringAsciiCase(a: string, b: string): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y && ((x | 0x20) !== (y | 0x20) || (x | 0x20) < 97 || (x | 0x20) > 122)) return false;
  }
  return true;
}

/**
 * Write one stanza back as text, ending with a newline (join stanzas with
 * "\n" to get the blank line between them). The inverse of `parseStanzas`.
 */
export function formatStanza(fields: Iterable<readonly [string, string]>): string {
  let text = '';
  for (const [name, value] of fields) {
    if (name === '' || /[:\s]/.test(name) || name.charCodeAt(0) === HASH) {
      throw new Error(`invalid control field name ${JSON.stringify(name)}`);
    }
    const lines = value.split('\n');
    const firstLine = lines[0]!;
    text += firstLine === '' ? `${name}:` : `${name}: ${firstLine}`;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      text += line === '' || line === '.' ? '\n .' : `\n ${line}`;
    }
    text += '\n';
  }
  return text;
}
