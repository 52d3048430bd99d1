/**
 * Walking a whole tree without following anything: every entry is lstat'ed,
 * directories are entered only when lstat says they are directories (a
 * symlink to one is a symlink), names are visited in byte order, and no file
 * is opened. For measuring a tree and for clamping its times; the tar writer
 * (src/archive/tree-tar.ts) has its own walk because it also reads files.
 */
import { lstatSync, lutimesSync, readdirSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { sortBytewise } from '../archive/index.ts';

/** `rel` is the path below the root ("" for the root itself, "etc/passwd" below it). */
export type TreeVisitor = (rel: string, st: Stats, host: string) => void;

/** Calls `visit` for the root and every entry below it, parents before children, names in byte order. */
export function walkTree(root: string, visit: TreeVisitor): void {
  const top = resolve(root);
  const st = lstatSync(top);
  if (!st.isDirectory()) throw new Error(`${root} is not a directory`);
  const pending: [rel: string, host: string, st: Stats][] = [['', top, st]];
  while (pending.length > 0) {
    const [rel, host, entry] = pending.pop()!;
    visit(rel, entry, host);
    if (!entry.isDirectory()) continue;
    const prefix = rel === '' ? '' : `${rel}/`;
    // Pushed in reverse so that they pop in order.
    const names = sortBytewise(readdirSync(host));
    for (let i = names.length - 1; i >= 0; i--) {
      const childHost = `${host}/${names[i]}`;
      pending.push([prefix + names[i], childHost, lstatSync(childHost)]);
    }
  }
}

/**
 * Sets every modification time newer than `epoch` (seconds) to `epoch`
 * (and that entry's access time with it), older ones kept; symlinks
 * themselves (lutimes), never what they point at. Access times alone are
 * left: reading a file moves them (relatime), no output keeps them, and
 * touching an entry for them would put it in the next checkpoint. Returns
 * how many entries it changed.
 */
export function clampTreeTimes(root: string, epoch: number): number {
  let changed = 0;
  walkTree(root, (_rel, st, host) => {
    if (st.mtimeMs <= epoch * 1000) return;
    lutimesSync(host, epoch, epoch);
    changed++;
  });
  return changed;
}
