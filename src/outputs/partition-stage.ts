/**
 * Handing each partition its part of the tree without copying it: the
 * subtree a partition holds is renamed out (on the same filesystem, beside
 * the tree) and an empty directory with the same owner, mode and times is
 * left as its mount point, deepest first; so the root partition sees the
 * tree without the others' content and each other partition its subtree
 * (with the mount points of partitions inside it). Afterwards everything
 * is renamed back and the parents' times restored: the tree is as it was,
 * for the outputs written after the disk.
 *
 * The paths are the tree's own directories: every component must be a real
 * directory (not a symlink), so a rename never reaches outside the tree.
 */
import { lstatSync, mkdirSync, renameSync, rmdirSync, lchownSync, chmodSync, utimesSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.ts';

/** The host path of `path` in the tree, each component a real directory; undefined: a component is missing. */
function realDirectory(root: string, path: string, who: string): string | undefined {
  let abs = root;
  for (const name of path.split('/').filter(Boolean)) {
    abs = join(abs, name);
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (!st) return undefined;
    if (!st.isDirectory())
      throw new UserError(`${who}: ${path} is not a directory in the image (${abs.slice(root.length)} is a ${st.isSymbolicLink() ? 'symlink' : 'file'})`, 'a partition holds a real directory of the tree; point contents at one');
  }
  return abs;
}

/**
 * Makes the mount points the partitions need that the tree lacks (empty,
 * root's, 0755, at SOURCE_DATE_EPOCH; the parent keeps its times), and
 * checks that every one is a real directory. Before fstab and the writers.
 */
export function ensureMountPoints(root: string, paths: readonly { path: string; who: string }[], sourceDateEpoch: number): void {
  for (const { path, who } of paths) {
    if (realDirectory(root, path, who) !== undefined) continue;
    let abs = root;
    for (const name of path.split('/').filter(Boolean)) {
      const parent = abs;
      abs = join(abs, name);
      if (lstatSync(abs, { throwIfNoEntry: false })) continue;
      const before = lstatSync(parent);
      mkdirSync(abs, { mode: 0o755 });
      lchownSync(abs, 0, 0);
      chmodSync(abs, 0o755);
      utimesSync(abs, sourceDateEpoch, sourceDateEpoch);
      utimesSync(parent, before.atime, before.mtime);
    }
  }
}

interface Moved {
  path: string;
  abs: string;
  away: string;
  parent: string;
  parentTimes: Stats;
}

export interface StagedTree {
  /** Each partition's source directory, by the contents path it was asked for. */
  source(contents: string): string;
  /** Puts everything back (in reverse order) and restores the parents' times. */
  restore(): void;
}

/** Moves each contents path except "/" out of the tree into `work` (an empty directory on the tree's filesystem), deepest first. */
export function stageContents(root: string, work: string, parts: readonly { contents: string; who: string }[]): StagedTree {
  const moved: Moved[] = [];
  const restore = () => {
    for (const m of moved.splice(0).reverse()) {
      rmdirSync(m.abs);
      renameSync(m.away, m.abs);
      utimesSync(m.parent, m.parentTimes.atime, m.parentTimes.mtime);
    }
  };
  try {
    const ordered = [...parts].filter((p) => p.contents !== '/').sort((a, b) => b.contents.split('/').length - a.contents.split('/').length);
    for (const [i, { contents, who }] of ordered.entries()) {
      const abs = realDirectory(root, contents, who);
      if (abs === undefined) throw new UserError(`${who}: ${contents} is not a directory in the image`, 'a partition holds a directory of the tree');
      const parent = join(abs, '..');
      const parentTimes = lstatSync(parent);
      const st = lstatSync(abs);
      const away = join(work, String(i));
      renameSync(abs, away);
      moved.push({ path: contents, abs, away, parent, parentTimes });
      mkdirSync(abs);
      lchownSync(abs, st.uid, st.gid);
      chmodSync(abs, st.mode & 0o7777);
      utimesSync(abs, st.atime, st.mtime);
      utimesSync(parent, parentTimes.atime, parentTimes.mtime);
    }
  } catch (err) {
    restore();
    throw err;
  }
  const byPath = new Map(moved.map((m) => [m.path, m.away]));
  return { source: (contents) => (contents === '/' ? root : byPath.get(contents)!), restore };
}
