/**
 * The prune stage's own work: removing the paths of `prune.presets` (named
 * sets of patterns, prune-presets.ts) and of `prune.remove` from the tree,
 * saying per preset how many paths and bytes went. `*`, `?` and `[...]`
 * (fnmatch(3)) match within one path component, `**` any number of
 * directories; symlinks are removed, never followed, so nothing outside the
 * tree is reached. Package databases are not edited: a pruned file stays
 * listed as its package's (`dpkg --verify`, `pacman -Qkk` report it
 * missing). In a tree with dpkg, the presets' `path-exclude` lines go to
 * /etc/dpkg/dpkg.cfg.d/kiln-prune, so later installs in the image leave
 * the same files out.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { Tree } from '../tree/index.ts';
import { UserError } from '../util/errors.ts';
import type { Emit } from '../util/events.ts';
import { fnmatchRegExp } from '../util/fnmatch.ts';
import { formatBytes } from '../util/size.ts';
import { PRUNE_PRESETS, type PruneOptions, type PrunePresetName } from './prune-presets.ts';

/** What one preset (or prune.remove) took away. */
export interface PruneResult {
  name: string;
  paths: number;
  bytes: number;
}

export const DPKG_EXCLUDES = 'etc/dpkg/dpkg.cfg.d/kiln-prune';

/** The presets in order, then prune.remove; one line each for what they removed. */
export async function pruneStage(root: string, presets: readonly PrunePresetName[], remove: readonly string[], opts: PruneOptions, emit: Emit): Promise<PruneResult[]> {
  const tree = new Tree(root);
  const counted = new Set<string>();
  const results: PruneResult[] = [];
  const report = (r: PruneResult) => {
    results.push(r);
    emit({ kind: 'log', level: 'info', source: 'prune', message: `${r.name}: ${r.paths} paths, ${formatBytes(r.bytes)}` });
  };
  for (const name of presets) {
    const preset = PRUNE_PRESETS[name];
    const found = matchAll(tree, preset.patterns, `prune.presets "${name}"`, emit);
    const doomed = [...found].filter((rel) => !preset.keep?.(rel, isRealDirectory(tree, rel), opts));
    report({ name, ...removeMeasured(tree, doomed, counted) });
  }
  if (remove.length) report({ name: 'prune.remove', ...removeMeasured(tree, [...matchAll(tree, remove, 'prune.remove', emit)], counted) });
  const dpkg = presets.flatMap((name) => PRUNE_PRESETS[name].dpkg(opts));
  if (dpkg.length && tree.isDirectory('etc/dpkg/dpkg.cfg.d')) {
    tree.write(DPKG_EXCLUDES, `# Written by kiln for prune.presets = [${presets.map((p) => `"${p}"`).join(', ')}]: later installs leave out what the image was pruned of.
${dpkg.join('\n')}\n`);
  }
  return results;
}

/** prune.remove alone (as before presets): returns how many matched paths it removed. */
export async function pruneTree(root: string, patterns: readonly string[], emit: Emit): Promise<number> {
  const tree = new Tree(root);
  const paths = [...matchAll(tree, patterns, 'prune.remove', emit)];
  removeMeasured(tree, paths, new Set());
  if (paths.length) emit({ kind: 'log', level: 'info', source: 'prune', message: `removed ${paths.length} paths` });
  return paths.length;
}

/** Every path the patterns match. */
function matchAll(tree: Tree, patterns: readonly string[], what: string, emit: Emit): Set<string> {
  const found = new Set<string>();
  for (const pattern of patterns) {
    const parts = pattern.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..') || parts.length === 0) throw new UserError(`${what}: "${pattern}" must name paths inside the image, without ".."`);
    const before = found.size;
    walk(tree, '', parts, found);
    if (found.size === before) emit({ kind: 'log', level: 'debug', source: 'prune', message: `${pattern}: nothing matched` });
  }
  return found;
}

/**
 * Removes the paths (parents before children: removing a directory takes
 * what is below it), counting every entry removed and the bytes of its
 * regular files (a hard-linked file once, by inode, in `counted`).
 */
function removeMeasured(tree: Tree, paths: string[], counted: Set<string>): { paths: number; bytes: number } {
  let entries = 0;
  let bytes = 0;
  const measure = (abs: string) => {
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (!st) return;
    entries++;
    if (st.isFile() && !counted.has(`${st.dev}:${st.ino}`)) {
      counted.add(`${st.dev}:${st.ino}`);
      bytes += st.size;
    }
    if (st.isDirectory()) for (const name of readdirSync(abs)) measure(`${abs}/${name}`);
  };
  const gone = new Set<string>();
  const under = (rel: string) => rel.split('/').some((_, i, parts) => i > 0 && gone.has(parts.slice(0, i).join('/')));
  for (const rel of paths.sort()) {
    if (under(rel)) continue;
    measure(tree.hostPath(rel, { followFinal: false }));
    tree.remove(rel, { recursive: true });
    gone.add(rel);
  }
  return { paths: entries, bytes };
}

const isRealDirectory = (tree: Tree, rel: string) => tree.lstat(rel)?.isDirectory() ?? false;
const join = (rel: string, name: string) => (rel ? `${rel}/${name}` : name);

/** Matches `parts` below `rel`, descending only into real directories (never through a symlink). */
function walk(tree: Tree, rel: string, parts: string[], found: Set<string>): void {
  if (parts.length === 0) {
    if (rel) found.add(rel);
    return;
  }
  const [part, ...rest] = parts as [string, ...string[]];
  if (part === '**') {
    walk(tree, rel, rest, found);
    for (const name of names(tree, rel)) {
      if (isRealDirectory(tree, join(rel, name))) walk(tree, join(rel, name), parts, found);
    }
    return;
  }
  const re = /[*?[]/.test(part) ? globRegExp(part) : undefined;
  for (const name of re ? names(tree, rel).filter((n) => re.test(n)) : [part]) {
    const child = join(rel, name);
    if (rest.length === 0) {
      if (tree.exists(child)) found.add(child);
    } else if (isRealDirectory(tree, child)) {
      walk(tree, child, rest, found);
    }
  }
}

/** The names in a real directory of the tree (walk only calls it for those, and for the root). */
function names(tree: Tree, rel: string): string[] {
  return rel === '' || isRealDirectory(tree, rel) ? tree.readdir(rel) : [];
}

/** One path component's glob (fnmatch with FNM_PERIOD: a leading dot is matched only explicitly, as in the shell); a bad pattern matches nothing. */
export function globRegExp(glob: string): RegExp {
  return fnmatchRegExp(glob, { period: true }) ?? /(?!)/;
}
