/**
 * ALPM hooks (alpm-hooks(5)): the `*.hook` files pacman runs before and after
 * a transaction. kiln unpacks packages itself, so it reads the hook files,
 * decides which hooks a transaction triggers and with which targets, and
 * leaves running the commands inside the image to the caller.
 *
 * The rules follow pacman 6.0 and were checked against it: the INI syntax,
 * the messages ("hook FILE line N: ..."), the Exec word splitting, glob
 * matching with fnmatch(3) and no flags (so `*` matches `/` too), which hook
 * file wins and the run order. Where pacman would crash or accept a hook that
 * can only fail, the choice made here is said where it is made.
 */

import { BuildError } from '../../util/errors.ts';

export type HookWhen = 'PreTransaction' | 'PostTransaction';
export type HookOperation = 'Install' | 'Upgrade' | 'Remove';
export type HookTriggerType = 'Path' | 'Package';

export interface HookTrigger {
  type: HookTriggerType;
  operations: HookOperation[];
  /** Globs in file order; `!` in front excludes, and the last pattern that matches decides. */
  targets: string[];
}

export interface AlpmHook {
  /** File name (`60-mkinitcpio-remove.hook`): overriding, run order and log lines go by it. */
  name: string;
  /** The file as named in messages. */
  file: string;
  description?: string;
  /** Absent only in a hook without triggers: such a hook never runs, it only masks its name. */
  when?: HookWhen;
  /** The command; pacman executes argv[0] as it is, without a PATH search. */
  argv: string[];
  triggers: HookTrigger[];
  depends: string[];
  abortOnFail: boolean;
  needsTargets: boolean;
}

/** One hook file: a hook (perhaps with warnings), or the errors that make pacman refuse it. */
export type ParsedHook = { hook: AlpmHook; warnings: string[] } | { errors: string[]; warnings: string[] };

/** pacman's hook directories, the one whose files win first. */
export const HOOK_DIRS: readonly string[] = ['/etc/pacman.d/hooks', '/usr/share/libalpm/hooks'];

export interface HookFile {
  dir: string;
  name: string;
  /** null: masked (a symlink to /dev/null), which pacman reads as an empty file. */
  text: string | null;
}

export interface HookSet {
  /** The hooks that can run, in run order. */
  hooks: AlpmHook[];
  /**
   * Files pacman refuses. Before a transaction pacman then runs no hook and
   * aborts the transaction; after it, pacman skips those files and runs the rest.
   */
  errors: string[];
  warnings: string[];
}

export interface HookPackage {
  name: string;
  /** The files pacman extracts, as in its file lists: `usr/lib/foo`, directories as `usr/lib/`. */
  files: readonly string[];
  /** For a package already installed (upgrade, downgrade, reinstall): the installed version's files. */
  oldFiles?: readonly string[];
}

export interface HookTransaction {
  /** Packages installed or upgraded; a fresh install is `{ add: packages }`. */
  add: readonly HookPackage[];
  remove?: readonly Pick<HookPackage, 'name' | 'files'>[];
}

/** A hook to run, with everything the caller needs to run it in the image as pacman does. */
export interface HookRun {
  name: string;
  file: string;
  description?: string;
  /**
   * pacman runs it chrooted into the image, in `/`, with umask 022, by path
   * (execv: a relative argv[0] fails). A failure is reported, and stops the
   * transaction only when abortOnFail is set.
   */
  argv: string[];
  /** With NeedsTargets: the matched targets, sorted, one a line. Otherwise the command gets an empty stdin. */
  stdin?: string;
  /** Only ever true before the transaction: a failure then stops the remaining hooks and the transaction. */
  abortOnFail: boolean;
  /**
   * Dependency strings (`coreutils`, `systemd>=250`) that installed packages
   * must satisfy; otherwise pacman reports "unable to run hook NAME: could
   * not satisfy dependencies" and counts the hook as failed.
   */
  depends: string[];
}

interface Draft {
  description?: string;
  when?: HookWhen;
  argv?: string[];
  triggers: { type?: HookTriggerType; operations: HookOperation[]; targets: string[] }[];
  depends: string[];
  abortOnFail: boolean;
  needsTargets: boolean;
}
type TriggerDraft = Draft['triggers'][number];

/** What a key handler may report: an error stops the parse, a redefinition is a warning. */
interface KeyContext {
  invalidValue(): string;
  redefined(key: string): void;
}

/** A key's effect on the hook; a string is the error that stops the parse. */
type KeyHandler<T> = (into: T, value: string | null, ctx: KeyContext) => string | void;

function valuesOf<V extends string>(...values: V[]): Map<string, V> {
  return new Map(values.map((value) => [value, value]));
}

const OPERATIONS = valuesOf<HookOperation>('Install', 'Upgrade', 'Remove');
/** `File` is the old spelling of `Path`; pacman still accepts it. */
const TRIGGER_TYPES = new Map([...valuesOf<HookTriggerType>('Path', 'Package'), ['File', 'Path'] as const]);
const WHENS = valuesOf<HookWhen>('PreTransaction', 'PostTransaction');

function pick<V>(values: Map<string, V>, value: string | null): V | undefined {
  return value === null ? undefined : values.get(value);
}

/**
 * A repeatable key without `=` has no value: pacman would crash on it (or,
 * for Depends, fail the hook when it runs), so it is an invalid value here.
 */
function append<T>(get: (into: T) => string[]): KeyHandler<T> {
  return (into, value, ctx) => {
    if (value === null) return ctx.invalidValue();
    get(into).push(value);
  };
}

const TRIGGER_KEYS: Record<string, KeyHandler<TriggerDraft>> = {
  Operation(trigger, value, ctx) {
    const operation = pick(OPERATIONS, value);
    if (operation === undefined) return ctx.invalidValue();
    if (!trigger.operations.includes(operation)) trigger.operations.push(operation);
  },
  Type(trigger, value, ctx) {
    if (trigger.type !== undefined) ctx.redefined('Type');
    trigger.type = pick(TRIGGER_TYPES, value);
    if (trigger.type === undefined) return ctx.invalidValue();
  },
  Target: append((trigger) => trigger.targets),
};

const ACTION_KEYS: Record<string, KeyHandler<Draft>> = {
  When(draft, value, ctx) {
    if (draft.when !== undefined) ctx.redefined('When');
    draft.when = pick(WHENS, value);
    if (draft.when === undefined) return ctx.invalidValue();
  },
  Description(draft, value, ctx) {
    if (draft.description !== undefined) ctx.redefined('Description');
    // A bare `Description` leaves pacman without one.
    draft.description = value ?? undefined;
  },
  Exec(draft, value, ctx) {
    if (draft.argv !== undefined) ctx.redefined('Exec');
    draft.argv = value === null ? undefined : splitExec(value);
    // pacman accepts an empty Exec and fails when it runs it; refused here.
    if (draft.argv === undefined || draft.argv.length === 0) return ctx.invalidValue();
  },
  Depends: append((draft) => draft.depends),
  // Flags: any value, even "no", sets them.
  AbortOnFail: (draft) => void (draft.abortOnFail = true),
  NeedsTargets: (draft) => void (draft.needsTargets = true),
};

/** The handler of `key`, and not something inherited from Object.prototype. */
function handlerOf<T>(keys: Record<string, KeyHandler<T>>, key: string): KeyHandler<T> | undefined {
  return Object.hasOwn(keys, key) ? keys[key] : undefined;
}

/** isspace() in the C and UTF-8 locales, as pacman trims and splits. */
function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
}

function trimSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text[start])) start++;
  while (end > start && isSpace(text[end - 1])) end--;
  return text.slice(start, end);
}

/**
 * Exec's word splitting (not a shell's): words end at unquoted whitespace;
 * '...' and "..." quote, and inside them a backslash escapes only the quote
 * that closes them; outside quotes a backslash escapes only ' and ". Every
 * other backslash is kept. undefined: a quote is not closed.
 */
export function splitExec(command: string): string[] | undefined {
  const words: string[] = [];
  let i = 0;
  while (isSpace(command[i])) i++;
  while (i < command.length) {
    let word = '';
    while (i < command.length && !isSpace(command[i])) {
      const c = command[i]!;
      if (c === "'" || c === '"') {
        for (i++; i < command.length && command[i] !== c; i++) {
          if (command[i] === '\\' && command[i + 1] === c) i++;
          word += command[i];
        }
        if (i === command.length) return undefined;
        i++;
      } else {
        const next = command[i + 1];
        if (c === '\\' && (next === "'" || next === '"')) i++;
        word += command[i];
        i++;
      }
    }
    words.push(word);
    while (isSpace(command[i])) i++;
  }
  return words;
}

/** The problems that make pacman refuse a complete parse; a hook without triggers is fine. */
function validate(draft: Draft, file: string, warnings: string[]): string[] {
  if (draft.triggers.length === 0) return [];
  const errors: string[] = [];
  for (const trigger of draft.triggers) {
    if (trigger.targets.length === 0) errors.push(`Missing trigger targets in hook: ${file}`);
    if (trigger.type === undefined) errors.push(`Missing trigger type in hook: ${file}`);
    if (trigger.operations.length === 0) errors.push(`Missing trigger operation in hook: ${file}`);
  }
  if (draft.argv === undefined) errors.push(`Missing Exec option in hook: ${file}`);
  if (draft.when === undefined) errors.push(`Missing When option in hook: ${file}`);
  else if (draft.when === 'PostTransaction' && draft.abortOnFail) {
    warnings.push(`AbortOnFail set for PostTransaction hook: ${file}`);
  }
  return errors;
}

/**
 * Reads one hook file. `file` names it in messages (a path as pacman prints
 * it, or just the name); the hook's name is its last component. Parsing stops
 * at the first error, as pacman's does.
 */
export function parseHook(text: string, file: string): ParsedHook {
  const warnings: string[] = [];
  const draft: Draft = { triggers: [], depends: [], abortOnFail: false, needsTargets: false };
  let section: string | undefined;
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = trimSpace(lines[index]!);
    if (line === '' || line.startsWith('#')) continue;
    const at = `hook ${file} line ${index + 1}`;
    if (line.startsWith('[') && line.endsWith(']')) {
      section = line.slice(1, -1);
      if (section === 'Trigger') draft.triggers.push({ operations: [], targets: [] });
      else if (section !== 'Action') return { errors: [`${at}: invalid section ${section}`], warnings };
      continue;
    }
    const equals = line.indexOf('=');
    const key = equals < 0 ? line : trimSpace(line.slice(0, equals));
    const value = equals < 0 ? null : trimSpace(line.slice(equals + 1));
    const ctx: KeyContext = {
      invalidValue: () => `${at}: invalid value ${value ?? '(null)'}`,
      redefined: (name) => warnings.push(`${at}: overwriting previous definition of ${name}`),
    };
    const trigger = section === 'Trigger' ? handlerOf(TRIGGER_KEYS, key) : undefined;
    const action = section === 'Action' ? handlerOf(ACTION_KEYS, key) : undefined;
    const error = trigger
      ? trigger(draft.triggers.at(-1)!, value, ctx)
      : action
        ? action(draft, value, ctx)
        : `${at}: invalid option ${key}`;
    if (typeof error === 'string') return { errors: [error], warnings };
  }
  const errors = validate(draft, file, warnings);
  if (errors.length > 0) return { errors, warnings };
  const hook: AlpmHook = {
    name: file.slice(file.lastIndexOf('/') + 1),
    file,
    ...(draft.description !== undefined && { description: draft.description }),
    ...(draft.when !== undefined && { when: draft.when }),
    argv: draft.argv ?? [],
    triggers: draft.triggers.map((trigger) => ({ ...trigger, type: trigger.type! })),
    depends: draft.depends,
    abortOnFail: draft.abortOnFail,
    needsTargets: draft.needsTargets,
  };
  return { hook, warnings };
}

/** strcmp() order for UTF-8 text: by code point, which UTF-16 `<` is not. */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

const HOOK_SUFFIX = '.hook';

/** pacman orders hooks by file name without the suffix: `foo.hook` runs before `foo-bar.hook`. */
function compareHookNames(a: AlpmHook, b: AlpmHook): number {
  return compareCodePoints(a.name.slice(0, -HOOK_SUFFIX.length), b.name.slice(0, -HOOK_SUFFIX.length));
}

function withoutTrailingSlashes(dir: string): string {
  const trimmed = dir.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

/**
 * The hooks pacman would use, from the `*.hook` files of `dirs` (listed with
 * the directory whose files win first). A file hides the files of the same
 * name in later directories, unless pacman refuses it; a masked or empty
 * file, or one without triggers, hides them and runs nothing.
 */
export function loadHooks(files: readonly HookFile[], dirs: readonly string[] = HOOK_DIRS): HookSet {
  const rank = new Map(dirs.map((dir, index) => [withoutTrailingSlashes(dir), index]));
  const candidates = files
    .filter((candidate) => candidate.name.endsWith(HOOK_SUFFIX))
    .map((candidate) => {
      const dir = withoutTrailingSlashes(candidate.dir);
      const position = rank.get(dir);
      if (position === undefined) throw new Error(`hook file ${candidate.name} is in ${dir}, not a hook directory`);
      return { ...candidate, rank: position, file: `${dir === '/' ? '' : dir}/${candidate.name}` };
    })
    .sort((a, b) => a.rank - b.rank || compareCodePoints(a.name, b.name));
  const chosen = new Map<string, AlpmHook>();
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const candidate of candidates) {
    if (chosen.has(candidate.name)) continue;
    const parsed = parseHook(candidate.text ?? '', candidate.file);
    warnings.push(...parsed.warnings);
    if ('errors' in parsed) errors.push(...parsed.errors);
    else chosen.set(candidate.name, parsed.hook);
  }
  const hooks = [...chosen.values()].filter((hook) => hook.triggers.length > 0).sort(compareHookNames);
  return { hooks, errors, warnings };
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
 * fnmatch(pattern, string, 0) as glibc does it in a UTF-8 locale: `*` and `?`
 * match any characters, `/` and a leading `.` included. null: the pattern is
 * an error (a trailing backslash, a bad `[.c.]`) and matches nothing. Only
 * ASCII is sure to match as glibc does: for other characters, glibc's answer
 * depends on its version and locale (2.36 in C.UTF-8 lets `?` and `??` both
 * match `é`).
 */
export function compileGlob(pattern: string): RegExp | null {
  const chars = [...pattern];
  let source = '';
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

/**
 * pacman's rule for a list of targets: the last pattern that matches decides,
 * and matches unless it starts with `!`. One leading `\` is dropped, so that
 * `\!x` is a pattern for a literal `!x`.
 */
function targetMatcher(targets: readonly string[], compiled: Map<string, RegExp | null>): (text: string) => boolean {
  const patterns = targets.map((target) => {
    const negated = target.startsWith('!');
    const glob = negated || target.startsWith('\\') ? target.slice(1) : target;
    let regexp = compiled.get(glob);
    if (regexp === undefined) compiled.set(glob, (regexp = compileGlob(glob)));
    return { negated, regexp };
  });
  patterns.reverse();
  return (text) => {
    for (const { negated, regexp } of patterns) if (regexp?.test(text)) return !negated;
    return false;
  };
}

/** Each path the transaction touches, with the operation it counts as for a Path trigger. */
function pathOperations(transaction: HookTransaction): Map<string, HookOperation> {
  const installed = new Set<string>();
  const removed = new Set<string>();
  for (const pkg of transaction.add) {
    for (const path of pkg.files) installed.add(path);
    for (const path of pkg.oldFiles ?? []) removed.add(path);
  }
  for (const pkg of transaction.remove ?? []) for (const path of pkg.files) removed.add(path);
  const operations = new Map<string, HookOperation>();
  for (const path of [...installed, ...removed]) {
    if (path.startsWith('/')) throw new Error(`hook targets are matched against relative paths, not ${path}`);
    // A path both installed and removed is upgraded, even when it changes owner.
    operations.set(path, !installed.has(path) ? 'Remove' : removed.has(path) ? 'Upgrade' : 'Install');
  }
  return operations;
}

/** Each package the transaction touches, with the operation it counts as for a Package trigger. */
function packageOperations(transaction: HookTransaction): Map<string, HookOperation> {
  const operations = new Map<string, HookOperation>();
  for (const pkg of transaction.remove ?? []) operations.set(pkg.name, 'Remove');
  // A package both removed and added (replaced by itself) is not a removal.
  for (const pkg of transaction.add) operations.set(pkg.name, pkg.oldFiles ? 'Upgrade' : 'Install');
  return operations;
}

/** The targets a trigger matches; only the first one when `all` is false. */
function matchTrigger(
  trigger: HookTrigger,
  touched: Map<string, HookOperation>,
  compiled: Map<string, RegExp | null>,
  all: boolean,
): string[] {
  const matches = targetMatcher(trigger.targets, compiled);
  const found: string[] = [];
  for (const [target, operation] of touched) {
    if (!trigger.operations.includes(operation) || !matches(target)) continue;
    found.push(target);
    if (!all) break;
  }
  return found;
}

/**
 * The hooks `when` runs for `transaction`, in order, as pacman decides them.
 * Before the transaction, an invalid hook file makes pacman run nothing and
 * abort: that is a BuildError here. After it, invalid files are skipped (they
 * are in `set.errors`, to report).
 */
export function matchHooks(set: HookSet, when: HookWhen, transaction: HookTransaction): HookRun[] {
  if (when === 'PreTransaction' && set.errors.length > 0) {
    const more = set.errors.length > 1 ? ` (and ${set.errors.length - 1} more)` : '';
    const hint = `pacman runs no transaction while a hook file is invalid: fix it, or mask it with an empty file of the same name in ${HOOK_DIRS[0]}`;
    throw new BuildError(`pacman hooks: ${set.errors[0]}${more}`, hint);
  }
  let paths: Map<string, HookOperation> | undefined;
  let packages: Map<string, HookOperation> | undefined;
  const compiled = new Map<string, RegExp | null>();
  const runs: HookRun[] = [];
  for (const hook of set.hooks) {
    if (hook.when !== when) continue;
    const targets = new Set<string>();
    for (const trigger of hook.triggers) {
      const touched =
        trigger.type === 'Path'
          ? (paths ??= pathOperations(transaction))
          : (packages ??= packageOperations(transaction));
      for (const target of matchTrigger(trigger, touched, compiled, hook.needsTargets)) targets.add(target);
      if (targets.size > 0 && !hook.needsTargets) break;
    }
    if (targets.size === 0) continue;
    runs.push({
      name: hook.name,
      file: hook.file,
      ...(hook.description !== undefined && { description: hook.description }),
      argv: hook.argv,
      ...(hook.needsTargets && { stdin: [...targets].sort(compareCodePoints).join('\n') + '\n' }),
      abortOnFail: hook.abortOnFail && when === 'PreTransaction',
      depends: hook.depends,
    });
  }
  return runs;
}

/** What pacman prints before a phase's hooks (after ":: "). */
export const HOOK_PHASE_TITLES: Record<HookWhen, string> = {
  PreTransaction: 'Running pre-transaction hooks...',
  PostTransaction: 'Running post-transaction hooks...',
};

/** What pacman prints as it starts a hook: `( 3/12) Updating the info directory file...`. */
export function describeHookRun(run: Pick<HookRun, 'name' | 'description'>, position: number, total: number): string {
  const width = String(total).length;
  return `(${String(position).padStart(width)}/${total}) ${run.description ?? run.name}`;
}
