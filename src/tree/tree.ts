/**
 * Every native access kiln makes to a tree that packages have filled. A
 * package may ship any path as a symlink (to /etc/passwd on the host, to
 * ../../..) or as a FIFO, so a raw `writeFile(join(root, path))` could write,
 * chmod or delete a file outside the tree with the user's rights, and a raw
 * read could block forever. Here:
 *
 * - A path is resolved as chroot would see it (`resolveInRoot`): symlinks in
 *   it are followed with absolute targets re-rooted at the root, and `..`
 *   never climbs above it. Every directory on the way is then a real one.
 * - The final component is opened with O_NOFOLLOW, so it is never followed
 *   out of the tree either.
 * - A file is read only when it is a regular file: its type is checked with
 *   lstat first, it is opened with O_NONBLOCK (a FIFO swapped in cannot
 *   block), and fstat must agree. Anything else is a TreeError.
 * - A write replaces the file: a temporary file beside it, created with
 *   O_EXCL|O_NOFOLLOW, renamed over the name. When the name is a symlink,
 *   the link itself is replaced, not followed. That is what the
 *   distributions' own tools leave behind: dpkg writes status-new and
 *   renames it, shadow's tools write passwd+ and rename, systemd writes
 *   /etc/hostname through a temporary file. An existing regular file keeps
 *   its owner and mode unless the caller gives others.
 * - Removals never follow a symlink: a symlinked path is removed as the link.
 *
 * Confinement assumes nothing else changes the tree while kiln works on it
 * natively (no package script runs at the same time), as is the case in
 * every stage.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  futimesSync,
  lchownSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { NotADirectoryError, resolveInRoot } from '../archive/index.ts';
import { BuildError } from '../util/errors.ts';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = constants;

/** Why a tree access failed: the path is missing, or it is not what the access needs. */
export type TreeProblem = 'missing' | 'not-a-file' | 'not-a-directory' | 'is-the-root';

/** A tree path kiln cannot read or write as asked (a build failure: exit 1). */
export class TreeError extends BuildError {
  constructor(
    message: string,
    readonly problem: TreeProblem,
    options?: { cause?: unknown },
  ) {
    super(message, undefined, options);
    this.name = 'TreeError';
  }
}

/** True for a TreeError saying the path does not exist. */
export const isMissing = (err: unknown): boolean => err instanceof TreeError && err.problem === 'missing';

export interface WriteOptions {
  /** Default: the mode of the regular file it replaces (or that a symlink it replaces leads to inside the root), else 0644. */
  mode?: number;
  /** Default: the owner of the regular file it replaces, else the writer. */
  uid?: number;
  gid?: number;
  /** Modification (and access) time, seconds since the epoch; default: now. */
  mtime?: number;
}

function kindOf(st: Stats): string {
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isDirectory()) return 'directory';
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'device';
  return 'special file';
}

const errnoOf = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** A root directory filled by packages; every path given to it is a path inside the image. */
export class Tree {
  constructor(readonly root: string) {}

  /** `/path` as the image sees it, for messages. */
  private show(path: string): string {
    return `/${path.split('/').filter((c) => c !== '' && c !== '.').join('/')}`;
  }

  /**
   * The host path of `path` with every symlink in it followed inside the
   * root (the final one too unless `followFinal` is false). For handing to a
   * tool or a mount; kiln's own reads and writes use the methods below.
   */
  hostPath(path: string, opts: { followFinal?: boolean } = {}): string {
    return resolveInRoot(this.root, path, { followFinal: opts.followFinal ?? true });
  }

  /** The host path of the entry `path` names itself (parents followed inside the root, not the final component). */
  private entry(path: string): string {
    return resolveInRoot(this.root, path, { followFinal: false });
  }

  /** hostPath or entry for a lookup: undefined when a component on the way is not a directory (so nothing is there). */
  private locate(path: string, followFinal: boolean): string | undefined {
    try {
      return resolveInRoot(this.root, path, { followFinal });
    } catch (err) {
      if (err instanceof NotADirectoryError) return undefined;
      throw err;
    }
  }

  /** The same, for an access that replaces or removes the entry: never the root itself. */
  private replaceable(path: string, what: string): string {
    const abs = this.entry(path);
    if (abs === this.root) throw new TreeError(`cannot ${what} ${this.show(path)}: it is the root of the image`, 'is-the-root');
    return abs;
  }

  /** The entry itself (a symlink is not followed); undefined when missing. */
  lstat(path: string): Stats | undefined {
    const abs = this.locate(path, false);
    return abs === undefined ? undefined : lstatSync(abs, { throwIfNoEntry: false });
  }

  /** What `path` names, a final symlink followed inside the root; undefined when missing. */
  stat(path: string): Stats | undefined {
    const abs = this.locate(path, true);
    return abs === undefined ? undefined : lstatSync(abs, { throwIfNoEntry: false });
  }

  /** The entry exists (a dangling symlink counts). */
  exists(path: string): boolean {
    return this.lstat(path) !== undefined;
  }

  /** The target of a symlink; undefined when `path` is missing or not a symlink. */
  readlink(path: string): string | undefined {
    const abs = this.locate(path, false);
    return abs !== undefined && lstatSync(abs, { throwIfNoEntry: false })?.isSymbolicLink() ? readlinkSync(abs) : undefined;
  }

  /** The names in a directory (a final symlink followed inside the root), sorted; none when it is missing. */
  readdir(path: string): string[] {
    const abs = this.locate(path, true);
    const st = abs === undefined ? undefined : lstatSync(abs, { throwIfNoEntry: false });
    if (!st) return [];
    if (!st.isDirectory()) throw new TreeError(`${this.show(path)} in the image is a ${kindOf(st)}, not a directory`, 'not-a-directory');
    return readdirSync(abs as string).sort();
  }

  /** A regular file's contents (a final symlink followed inside the root). Missing: a TreeError with problem "missing". */
  readBytes(path: string): Buffer {
    const fd = this.openRegular(path, this.locate(path, true), O_RDONLY);
    try {
      return readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  readText(path: string): string {
    return this.readBytes(path).toString('utf8');
  }

  /** A regular file's text, or undefined when there is no such file; any other type is still a TreeError. */
  readTextIfExists(path: string): string | undefined {
    try {
      return this.readText(path);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** Opens a regular file only: type checked first, then O_NOFOLLOW|O_NONBLOCK, then fstat. */
  private openRegular(path: string, abs: string | undefined, flags: number): number {
    const st = abs === undefined ? undefined : lstatSync(abs, { throwIfNoEntry: false });
    if (!st) throw new TreeError(`${this.show(path)} does not exist in the image`, 'missing');
    if (!st.isFile()) throw new TreeError(`${this.show(path)} in the image is a ${kindOf(st)}, not a regular file; kiln does not open it`, 'not-a-file');
    let fd: number;
    try {
      fd = openSync(abs as string, flags | O_NOFOLLOW | O_NONBLOCK);
    } catch (err) {
      if (errnoOf(err) === 'ELOOP') throw new TreeError(`${this.show(path)} in the image changed into a symlink; kiln does not follow it`, 'not-a-file', { cause: err });
      throw err;
    }
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw new TreeError(`${this.show(path)} in the image is not a regular file; kiln does not read it`, 'not-a-file');
    }
    return fd;
  }

  /**
   * Creates or replaces a regular file (see the header: a symlink at `path`
   * is replaced, never written through). The directory must exist.
   */
  write(path: string, data: string | Uint8Array, opts: WriteOptions = {}): void {
    const abs = this.replaceable(path, 'write');
    const old = lstatSync(abs, { throwIfNoEntry: false });
    if (old?.isDirectory()) throw new TreeError(`cannot write ${this.show(path)} in the image: it is a directory`, 'not-a-file');
    // A link to a file inside the root (shadow -> ../usr/share/...) hands on that file's owner and mode, not 0644.
    const linked = old?.isSymbolicLink() ? this.stat(path) : undefined;
    const kept = old?.isFile() ? old : linked?.isFile() ? linked : undefined;
    const mode = opts.mode ?? (kept ? kept.mode & 0o7777 : 0o644);
    const uid = opts.uid ?? kept?.uid;
    const gid = opts.gid ?? kept?.gid;
    const slash = abs.lastIndexOf('/');
    const tmp = `${abs.slice(0, slash)}/.${abs.slice(slash + 1)}.kiln-${process.pid}-${randomBytes(4).toString('hex')}`;
    let fd: number;
    try {
      fd = openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') {
        throw new TreeError(`cannot write ${this.show(path)} in the image: its directory does not exist`, 'missing', { cause: err });
      }
      throw err;
    }
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
      if (uid !== undefined || gid !== undefined) fchownSync(fd, uid ?? -1, gid ?? -1);
      fchmodSync(fd, mode);
      if (opts.mtime !== undefined) futimesSync(fd, opts.mtime, opts.mtime);
      closeSync(fd);
      renameSync(tmp, abs);
    } catch (err) {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  /** Appends to a regular file (a final symlink followed inside the root); creates it (0644) when missing. */
  append(path: string, data: string | Uint8Array): void {
    const abs = this.hostPath(path);
    if (!lstatSync(abs, { throwIfNoEntry: false })) return this.write(path, data);
    const fd = this.openRegular(path, abs, O_WRONLY | O_APPEND);
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    } finally {
      closeSync(fd);
    }
  }

  /** mkdir -p inside the root (symlinks to directories followed inside it); `mode` is set on the last one when given, `onCreate` hears of each one made (as /path). Returns its host path. */
  mkdir(path: string, opts: { mode?: number; onCreate?: (created: string) => void } = {}): string {
    const onCreate = opts.onCreate;
    const abs = resolveInRoot(this.root, path, { create: true, onCreate: onCreate && ((created) => onCreate(created.slice(this.root.length))) });
    if (opts.mode !== undefined) this.chmod(path, opts.mode);
    return abs;
  }

  /** Removes the entry (`recursive` for a directory and what it holds); a symlink is removed as the link. Missing is fine. */
  remove(path: string, opts: { recursive?: boolean } = {}): void {
    if (this.locate(path, false) === undefined) return; // under a file: nothing there
    const abs = this.replaceable(path, 'remove');
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) rmSync(abs, { recursive: opts.recursive ?? false, force: true });
    else unlinkSync(abs);
  }

  /** chmod of a regular file or directory (a final symlink followed inside the root), through a descriptor opened O_NOFOLLOW. */
  chmod(path: string, mode: number): void {
    const abs = this.hostPath(path);
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (!st) throw new TreeError(`cannot chmod ${this.show(path)} in the image: it does not exist`, 'missing');
    if (!st.isFile() && !st.isDirectory()) throw new TreeError(`cannot chmod ${this.show(path)} in the image: it is a ${kindOf(st)}`, 'not-a-file');
    const fd = openSync(abs, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | (st.isDirectory() ? O_DIRECTORY : 0));
    try {
      fchmodSync(fd, mode);
    } finally {
      closeSync(fd);
    }
  }

  /** Sets the owner; `follow: false` changes a symlink itself. Never follows out of the root. */
  chown(path: string, uid: number, gid: number, opts: { follow?: boolean } = {}): void {
    const abs = opts.follow === false ? this.entry(path) : this.hostPath(path);
    lchownSync(abs, uid, gid);
  }

  /** A symlink at `path` pointing at `target` (as written; resolved by the image); `replace` removes what is there first (not a directory). */
  symlink(target: string, path: string, opts: { replace?: boolean } = {}): void {
    const abs = this.replaceable(path, 'make a symlink at');
    if (opts.replace) {
      const st = lstatSync(abs, { throwIfNoEntry: false });
      if (st?.isDirectory()) throw new TreeError(`cannot replace ${this.show(path)} in the image with a symlink: it is a directory`, 'not-a-file');
      if (st) unlinkSync(abs);
    }
    symlinkSync(target, abs);
  }

  /** True when `path` is a directory (a final symlink followed inside the root). */
  isDirectory(path: string): boolean {
    return this.stat(path)?.isDirectory() ?? false;
  }
}

