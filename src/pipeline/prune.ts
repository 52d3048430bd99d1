/**
 * The prune stage's own work: removing the paths of `prune.remove` from the
 * tree. `*`, `?` and `[...]` (fnmatch(3)) match within one path component, `**` any
 * number of directories; symlinks are removed, never followed, so nothing
 * outside the tree is reached.
 */
import { Tree } from '../tree/index.ts';
import { UserError } from '../util/errors.ts';
import type { Emit } from '../util/events.ts';
import { fnmatchRegExp } from '../util/fnmatch.ts';

export async function pruneTree(root: string, patterns: readonly string[], emit: Emit): Promise<number> {
  const tree = new Tree(root);
  const found = new Set<string>();
  for (const pattern of patterns) {
    const parts = pattern.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..') || parts.length === 0) throw new UserError(`prune.remove: "${pattern}" must name paths inside the image, without ".."`);
    const before = found.size;
    walk(tree, '', parts, found);
    if (found.size === before) emit({ kind: 'log', level: 'debug', source: 'prune', message: `${pattern}: nothing matched` });
  }
  // Parents before children: removing a directory takes what is below it.
  const paths = [...found].sort();
  for (const rel of paths) tree.remove(rel, { recursive: true });
  if (paths.length) emit({ kind: 'log', level: 'info', source: 'prune', message: `removed ${paths.length} paths` });
  return paths.length;
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
