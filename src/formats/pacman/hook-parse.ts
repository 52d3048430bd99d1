/**
 * ALPM hook files (alpm-hooks(5)): the `*.hook` files pacman runs before and
 * after a transaction, read as pacman 6.0 reads them (checked against it):
 * the INI syntax, the messages ("hook FILE line N: ..."), the Exec word
 * splitting, which hook file wins and the run order. Where pacman would crash
 * or accept a hook that can only fail, the choice made here is said where it
 * is made. Which hooks a transaction triggers is hook-match.ts.
 */

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
