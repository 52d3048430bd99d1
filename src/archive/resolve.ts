/**
 * Path resolution inside a root directory, the way `chroot` would see it:
 * symlinks are followed with absolute targets re-rooted at the root, and `..`
 * never climbs above the root. The result is a host path whose every
 * component up to the last followed one is a real directory, never a symlink.
 */
import { lstatSync, mkdirSync, readlinkSync } from 'node:fs';
import { ArchiveError } from './errors.ts';

const MAX_SYMLINKS = 40;

/** A component the path goes through is not a directory (the kernel's ENOTDIR): the path cannot exist. */
export class NotADirectoryError extends ArchiveError {
  readonly code = 'ENOTDIR';
}

export interface ResolveOptions {
  /** Follow a symlink in the last component too (default true). */
  followFinal?: boolean;
  /** Create missing directories (mode 0755) along the way, calling `onCreate` for each; the whole path must be a directory. */
  create?: boolean;
  onCreate?: (abs: string) => void;
}

function split(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * Resolves `relPath` (relative or absolute, both taken as inside `root`) to
 * a host path under `root`. Missing components are kept as they are (or
 * created with `create`); a file used as a directory is an error.
 */
export function resolveInRoot(root: string, relPath: string, opts: ResolveOptions = {}): string {
  const parts = resolveParts(root, split(relPath), opts);
  return parts.length === 0 ? root : `${root}/${parts.join('/')}`;
}

/** The real components (relative to `root`) that `parts` resolves to. */
export function resolveParts(root: string, parts: readonly string[], opts: ResolveOptions = {}): string[] {
  const followFinal = opts.followFinal ?? true;
  const out: string[] = [];
  const pending = parts.slice().reverse(); // a stack: the next component is at the end
  let links = 0;
  let firstMissing = -1; // index in `out` of the first component that does not exist
  while (pending.length > 0) {
    const c = pending.pop() as string;
    if (c === '..') {
      out.pop();
      if (firstMissing >= out.length) firstMissing = -1;
      continue;
    }
    out.push(c);
    const last = pending.length === 0;
    if ((last && !followFinal) || firstMissing >= 0) continue;
    const abs = `${root}/${out.join('/')}`;
    let st;
    try {
      st = lstatSync(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (opts.create) {
        mkdirSync(abs, 0o755);
        opts.onCreate?.(abs);
      } else {
        firstMissing = out.length - 1; // what follows cannot exist: resolve it lexically
      }
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) throw new ArchiveError(`too many levels of symbolic links resolving ${parts.join('/')} in ${root}`);
      out.pop();
      const target = readlinkSync(abs);
      if (target.startsWith('/')) out.length = 0;
      const more = split(target);
      for (let i = more.length - 1; i >= 0; i--) pending.push(more[i] as string);
    } else if ((!last || opts.create) && !st.isDirectory()) {
      throw new NotADirectoryError(`cannot resolve ${parts.join('/')} in ${root}: /${out.join('/')} is not a directory`);
    }
  }
  return out;
}
