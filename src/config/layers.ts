/**
 * Reading one configuration layer (a TOML file, the environment, --set) into
 * entries: "set this key", "add these items", "remove these items", each with
 * where it came from and the conditions under which it applies.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { SETTINGS, SETTING_KEYS, environmentName, type SettingKey } from './settings.ts';
import { scanTomlLines } from './toml-lines.ts';
import { UserError } from '../util/errors.ts';
import { similarNames } from '../util/suggest.ts';
import { BOARDS, findDistribution } from '../catalog/index.ts';

export const CRITERIA = ['distribution', 'release', 'architecture', 'board', 'profile'] as const;
export type Criterion = (typeof CRITERIA)[number];

/** A `[match]` table or the `match` of a `[[when]]`: every criterion given must hold. */
export interface Condition {
  criteria: Partial<Record<Criterion, string[]>>;
  origin: string;
}

export type Operation = 'set' | 'add' | 'remove';

export interface Entry {
  key: SettingKey;
  op: Operation;
  value: unknown;
  /** The value is text (environment, --set): kinds split lists and read numbers from it. */
  text: boolean;
  origin: string;
  /** Where a part of the value is (an item number from 0, a table name), when the layer knows lines. */
  originOf?: (at: (string | number)[]) => string;
  /** The entry applies only when every condition holds. */
  when: Condition[];
  /** From the private layer: never printed, never stored in outputs. */
  private: boolean;
}

/** The problems found so far; each is one `where: key: problem` line. */
export type Problems = string[];

export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(SETTINGS, key);
}

export function suggestion(key: string): string {
  const near = similarNames(key, SETTING_KEYS, 2);
  return near.length ? `; did you mean ${near.join(' or ')}?` : '';
}

/** Reads a TOML layer; a missing file is an empty layer unless `required`. */
export function readTomlLayer(file: string, problems: Problems, opts: { private?: boolean; required?: string; tally?: ProblemTally } = {}): Entry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !opts.required) return [];
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      problems.push(opts.required as string);
      return [];
    }
    throw new UserError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const shown = relative(process.cwd(), file) || file;
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      const what = err.message.split('\n')[0]?.replace(/^Invalid TOML document: /, '') ?? 'syntax error';
      problems.push(`${shown}:${err.line}:${err.column}: ${what}`);
      return [];
    }
    throw err;
  }
  const { lines, under } = scanTomlLines(text);
  /** The line of a key; for one without a line of its own, the first line inside it, else its table's. */
  const lineOf = (path: string): number => {
    for (let p = path; p; p = p.slice(0, Math.max(p.lastIndexOf('.'), p.lastIndexOf('['), 0))) {
      const line = lines.get(p) ?? under.get(p);
      if (line) return line;
    }
    return 1;
  };
  const reader: Reader = {
    at: (path) => `${shown}:${lineOf(path)}`,
    written: (path) => lines.has(path),
    problems,
    private: opts.private ?? false,
    tally: opts.tally ?? { omitted: 0 },
    massLeft: SHOWN_PROBLEMS,
  };
  const fileConditions: Condition[] = [];
  if ('match' in doc) {
    const condition = readCondition(doc.match, 'match', reader);
    if (condition) fileConditions.push(condition);
  }
  const entries = readSections(doc, '', fileConditions, reader, ['match', 'when']);
  if ('when' in doc) {
    const whens = Array.isArray(doc.when) ? doc.when : [];
    if (!Array.isArray(doc.when)) problems.push(`${reader.at('when')}: when: expected [[when]] tables, each with a match = { ... }`);
    for (const [i, item] of whens.entries()) {
      const path = `when[${i}]`;
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        problems.push(`${reader.at(path)}: when: expected a table`);
        continue;
      }
      const body = item as Record<string, unknown>;
      if (!('match' in body)) {
        problems.push(`${reader.at(path)}: when: a [[when]] table needs match = { distribution = ..., architecture = ..., ... }`);
        continue;
      }
      const condition = readCondition(body.match, `${path}.match`, reader);
      if (condition) entries.push(...readSections(body, `${path}.`, [...fileConditions, condition], reader, ['match']));
    }
  }
  return entries;
}

interface Reader {
  at(path: string): string;
  /** The key or table is written out in the file (not only opened by a longer one). */
  written(path: string): boolean;
  problems: Problems;
  private: boolean;
  tally: ProblemTally;
  /** How many more problems of the kind one file can hold any number of (unknown keys) are written out. */
  massLeft: number;
}

/** At most this many problems are printed (and then how many more there are). */
export const SHOWN_PROBLEMS = 50;

/** Problems that were counted but not written out. */
export interface ProblemTally {
  omitted: number;
}

/**
 * A problem a file can have any number of (a key kiln does not know): the first SHOWN_PROBLEMS
 * of a file are written out, with a "did you mean" (a comparison with every setting); the rest are
 * only counted, since they would not be shown.
 */
function reportMass(reader: Reader, problem: () => string): void {
  if (reader.massLeft-- > 0) reader.problems.push(problem());
  else reader.tally.omitted++;
}

/** `[2].uid` for the item numbered 2 (from 0) and its field uid. */
function subPath(at: (string | number)[]): string {
  return at.map((part) => (typeof part === 'number' ? `[${part}]` : `.${part}`)).join('');
}

/** An unknown key; a table opened only by longer headers ([system.foo.bar]) is reported at each key written inside it. */
function reportUnknown(reader: Reader, prefix: string, key: string, value: unknown): void {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !reader.written(prefix + key) && Object.keys(value).length) {
    for (const [name, inner] of Object.entries(value)) reportUnknown(reader, prefix, `${key}.${name}`, inner);
    return;
  }
  reportMass(reader, () => `${reader.at(prefix + key)}: ${key}: unknown setting${suggestion(key)}`);
}

/**
 * Top-level arrays of tables that fill a list setting. Every layer's [[hook]],
 * [[user]] and [[group]] tables add up; a layer's [[partition]] or [[blob]]
 * tables are the whole disk layout and replace the board's (or an earlier
 * file's): a layout is not the sum of two (`disk.partitions = { add = [...] }`
 * edits one).
 */
export const TABLE_ARRAYS: Record<string, { key: SettingKey; op: 'add' | 'set' }> = {
  hook: { key: 'hooks.inline', op: 'add' },
  user: { key: 'users.accounts', op: 'add' },
  group: { key: 'users.groups', op: 'add' },
  partition: { key: 'disk.partitions', op: 'set' },
  blob: { key: 'disk.blobs', op: 'set' },
};

function readSections(doc: Record<string, unknown>, prefix: string, when: Condition[], reader: Reader, reserved: string[]): Entry[] {
  const entries: Entry[] = [];
  for (const [section, body] of Object.entries(doc)) {
    if (reserved.includes(section)) continue;
    const list = TABLE_ARRAYS[section];
    if (list && Array.isArray(body)) {
      const originOf = (at: (string | number)[]) => reader.at(prefix + section + subPath(at));
      entries.push({ key: list.key, op: list.op, value: body, text: false, origin: reader.at(prefix + section), originOf, when, private: reader.private });
      continue;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      reportMass(reader, () => `${reader.at(prefix + section)}: ${section}: expected a [${section}] table${prefix ? '' : suggestion(section)}`);
      continue;
    }
    for (const [name, value] of Object.entries(body)) {
      const key = `${section}.${name}`;
      if (!isSettingKey(key)) {
        reportUnknown(reader, prefix, key, value);
        continue;
      }
      const origin = reader.at(prefix + key);
      const originOf = (at: (string | number)[]) => reader.at(prefix + key + subPath(at));
      const base = { key, text: false, origin, originOf, when, private: reader.private };
      const shape = SETTINGS[key].kind.shape;
      if (shape === 'list' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
        for (const [op, items] of Object.entries(value)) {
          if (op === 'set' || op === 'add' || op === 'remove') entries.push({ ...base, op, value: items });
          else reader.problems.push(`${origin}: ${key}: a list is given as [ ... ] or as { add = [...], remove = [...] } (or set = [...]), not "${op}"`);
        }
      } else {
        entries.push({ ...base, op: 'set', value });
      }
    }
  }
  return entries;
}

function readCondition(raw: unknown, path: string, reader: Reader): Condition | undefined {
  const origin = reader.at(path);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    reader.problems.push(`${origin}: match: expected a table such as { distribution = "debian", architecture = ["arm64", "armhf"] }`);
    return undefined;
  }
  const criteria: Condition['criteria'] = {};
  let ok = true;
  for (const [name, value] of Object.entries(raw)) {
    if (!(CRITERIA as readonly string[]).includes(name)) {
      reader.problems.push(`${origin}: match.${name}: unknown criterion; known: ${CRITERIA.join(', ')}`);
      ok = false;
      continue;
    }
    const values = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(values) || values.length === 0 || values.some((v) => typeof v !== 'string' || v.replace(/^!/, '') === '')) {
      reader.problems.push(`${origin}: match.${name}: expected a name or a list of names (a leading ! negates)`);
      ok = false;
      continue;
    }
    for (const v of values as string[]) {
      const bare = v.replace(/^!/, '');
      if (name === 'distribution' && !findDistribution(bare)) {
        reader.problems.push(`${origin}: match.distribution: unknown distribution "${bare}"`);
        ok = false;
      }
      if (name === 'board' && !(bare in BOARDS)) {
        reader.problems.push(`${origin}: match.board: unknown board "${bare}"; known: ${Object.keys(BOARDS).join(', ')}`);
        ok = false;
      }
    }
    criteria[name as Criterion] = values as string[];
  }
  return ok ? { criteria, origin } : undefined;
}

/** KILN_SECTION_KEY variables (or a setting's own, such as SOURCE_DATE_EPOCH): each replaces the setting's value. */
export function readEnvironmentLayer(env: NodeJS.ProcessEnv): Entry[] {
  const entries: Entry[] = [];
  for (const key of SETTING_KEYS) {
    const name = environmentName(key);
    const v = env[name];
    if (v !== undefined && v !== '') entries.push({ key, op: 'set', value: v, text: true, origin: `$${name}`, when: [], private: false });
  }
  return entries;
}

/** `--set key=value`, `--set key+=items`, `--set key-=items`. */
export function readSetLayer(sets: string[], problems: Problems): Entry[] {
  const entries: Entry[] = [];
  for (const arg of sets) {
    const m = /^\s*([^=+\-\s][^=]*?)\s*([+-]?)=(.*)$/s.exec(arg);
    if (!m) {
      problems.push(`--set ${arg}: expected KEY=VALUE (or KEY+=ITEMS, KEY-=ITEMS for a list)`);
      continue;
    }
    const [, key = '', sign, value] = m;
    if (!isSettingKey(key)) {
      problems.push(`--set ${arg}: unknown setting "${key}"${suggestion(key)}`);
      continue;
    }
    if (sign && SETTINGS[key].kind.shape !== 'list') {
      problems.push(`--set ${arg}: ${key} is not a list; use ${key}=VALUE`);
      continue;
    }
    const op: Operation = sign === '+' ? 'add' : sign === '-' ? 'remove' : 'set';
    entries.push({ key, op, value, text: true, origin: '--set', when: [], private: false });
  }
  return entries;
}
