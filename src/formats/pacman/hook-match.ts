/**
 * Which ALPM hooks a transaction triggers, and with which targets, as pacman
 * 6.0 decides it: each trigger's targets are globs matched with fnmatch(3)
 * and no flags (so `*` matches `/` too), the last matching pattern decides.
 * kiln unpacks packages itself, so it leaves running the commands inside the
 * image to the caller (transaction.ts).
 */
import { BuildError } from '../../util/errors.ts';
import { fnmatchRegExp } from '../../util/fnmatch.ts';
import { compareCodePoints, HOOK_DIRS, type HookOperation, type HookSet, type HookTrigger, type HookWhen } from './hook-parse.ts';

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
    if (regexp === undefined) compiled.set(glob, (regexp = fnmatchRegExp(glob)));
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
