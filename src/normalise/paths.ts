/** Small walks over a tree for the normalisations: never following a link, confined by Tree. */
import type { Stats } from 'node:fs';
import type { Tree } from '../tree/index.ts';

/** Every entry below `dir` (not `dir` itself), parents first, as `dir/...` paths with their lstat; nothing when `dir` is not a real directory. */
export function entriesBelow(tree: Tree, dir: string): { path: string; st: Stats }[] {
  const out: { path: string; st: Stats }[] = [];
  const top = tree.lstat(dir);
  if (!top?.isDirectory()) return out;
  const pending = [dir];
  while (pending.length > 0) {
    const here = pending.shift() as string;
    for (const name of tree.readdir(here).sort()) {
      const path = `${here}/${name}`;
      const st = tree.lstat(path);
      if (!st) continue;
      out.push({ path, st });
      if (st.isDirectory()) pending.push(path);
    }
  }
  return out;
}

/** Removes each path that exists (a directory with what it holds); returns the ones removed. */
export function removeEach(tree: Tree, paths: readonly string[]): string[] {
  const removed: string[] = [];
  for (const path of paths) {
    if (!tree.lstat(path)) continue;
    tree.remove(path, { recursive: true });
    removed.push(path);
  }
  return removed;
}

/** Removes what `dir` holds except the names in `keep` (the directory itself stays); returns how many entries went. */
export function emptyDirectory(tree: Tree, dir: string, keep: readonly string[] = []): number {
  if (!tree.lstat(dir)?.isDirectory()) return 0;
  let removed = 0;
  for (const name of tree.readdir(dir)) {
    if (keep.includes(name)) continue;
    tree.remove(`${dir}/${name}`, { recursive: true });
    removed++;
  }
  return removed;
}

/** "removed /a, /b" or undefined when nothing was. */
export function saidRemoved(paths: readonly string[]): string | undefined {
  return paths.length ? `removed ${paths.map((p) => `/${p}`).join(', ')}` : undefined;
}
