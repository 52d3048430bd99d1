/**
 * Safe extraction of tar entries into a root directory, as dpkg/pacman/apk
 * would unpack a package: parents resolved inside the root (so `./bin/x` on
 * merged /usr lands in `usr/bin/x`), the final component replaced and never
 * written through, `..` and absolute paths refused. Sync fs calls are used on
 * purpose: for thousands of small files they are several times faster than
 * the thread-pool round trips of the async API.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  chmodSync,
  chownSync,
  mkdirSync,
  openSync,
  rmdirSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { resolve } from 'node:path';
import { ArchiveError } from './errors.ts';
import { resolveParts } from './resolve.ts';
import { readTar, type ReadTarOptions, type TarBody } from './tar-read.ts';
import type { TarEntry } from './types.ts';

export interface ExtractOptions {
  /** Apply the entries' uid/gid (needs root, or a user namespace with those ids mapped). */
  chown: boolean;
  /** Apply the entries' extended attributes (after every owner is set: a chown clears file capabilities). */
  xattrs?: boolean;
  /**
   * A directory that exists already: `keep` it as it is (packages unpacked
   * into one tree share directories), or give it the entry's owner, mode
   * and time (`replace`: a checkpoint's changes put back exactly, the root's
   * own entry included). Default keep.
   */
  existingDirectories?: 'keep' | 'replace';
}

export interface ExtractResult {
  /** Every path applied, relative to the root, in archive order (what dpkg's file list holds). */
  paths: string[];
  /** Entries that could not be created here (device nodes in a user namespace, fifos). */
  warnings: string[];
}

const OPEN_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW; // libuv adds O_CLOEXEC

/** Node turns a negative number of seconds into "now"; a Date is taken as it is. */
function time(seconds: number): number | Date {
  return seconds >= 0 ? seconds : new Date(seconds * 1000);
}

/** Members up to this size are taken whole from a tar stream. */
const WHOLE = 1 << 20;

function isTarBody(data: AsyncIterable<Buffer>): data is TarBody {
  return typeof (data as Partial<TarBody>).buffer === 'function';
}

function writeAll(fd: number, b: Buffer): void {
  for (let off = 0; off < b.length; ) off += writeSync(fd, b, off, b.length - off);
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Splits an archive path into components; refuses absolute paths and `..`. */
export function safeComponents(path: string, what = 'path'): string[] {
  if (path.startsWith('/')) throw new ArchiveError(`refusing to extract ${JSON.stringify(path)}: absolute ${what}`);
  const parts: string[] = [];
  for (const c of path.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') throw new ArchiveError(`refusing to extract ${JSON.stringify(path)}: ${what} contains ".."`);
    parts.push(c);
  }
  return parts;
}

export class Extractor {
  readonly root: string;
  private readonly paths: string[] = [];
  private readonly warnings: string[] = [];
  /** Archive parent path -> resolved host directory. */
  private readonly parents = new Map<string, string>();
  /** Directories made on the way to an entry; their own entry, if it comes, still sets their metadata. */
  private readonly implicitDirs = new Set<string>();
  /** Directory -> the newest time any entry gave it (several packages' entries, applied in any order, agree). */
  private readonly dirTimes = new Map<string, number>();
  private readonly xattrs: [string, Map<string, Buffer>][] = [];

  constructor(
    root: string,
    private readonly opts: ExtractOptions,
  ) {
    this.root = resolve(root);
  }

  /** Creates one entry. `data` is the file's content (required for a non-empty file). */
  async apply(entry: TarEntry, data?: Buffer | AsyncIterable<Buffer>): Promise<void> {
    const parts = safeComponents(entry.path);
    if (parts.length === 0) {
      if (entry.type !== 'dir') throw new ArchiveError(`refusing to extract ${JSON.stringify(entry.path)}: a ${entry.type} as the root`);
      // The root directory itself is left as it is, but for a checkpoint's changes, which put its owner, mode and time back too.
      if (this.opts.existingDirectories === 'replace') {
        if (this.opts.chown) chownSync(this.root, entry.uid, entry.gid);
        chmodSync(this.root, entry.mode);
        this.dirTimes.set(this.root, entry.mtime);
      }
      return;
    }
    const rel = parts.join('/');
    try {
      const abs = `${this.parentDir(parts)}/${parts[parts.length - 1] as string}`;
      switch (entry.type) {
        case 'file':
          await this.file(abs, entry, data);
          break;
        case 'dir':
          this.dir(abs, parts, entry);
          break;
        case 'symlink':
          this.symlink(abs, entry);
          break;
        case 'hardlink':
          this.hardlink(abs, entry);
          break;
        default:
          if (!this.special(abs, entry)) return;
      }
    } catch (err) {
      if (err instanceof ArchiveError) throw err;
      throw new ArchiveError(`cannot extract ${rel}: ${(err as Error).message}`, undefined, { cause: err });
    }
    this.paths.push(rel);
    if (this.opts.xattrs && entry.xattrs.size > 0 && entry.type !== 'hardlink') this.xattrs.push([`${this.parentDir(parts)}/${parts[parts.length - 1] as string}`, entry.xattrs]);
  }

  /** Sets the directories' times (deferred so that their contents do not change them) and returns the result. */
  finish(): ExtractResult {
    if (this.xattrs.length) applyXattrs(this.xattrs);
    this.xattrs.length = 0;
    for (const [abs, mtime] of this.dirTimes) {
      try {
        lutimesSync(abs, time(mtime), time(mtime));
      } catch (err) {
        if (code(err) !== 'ENOENT') throw err;
      }
    }
    this.dirTimes.clear();
    return { paths: this.paths, warnings: this.warnings };
  }

  private parentDir(parts: string[]): string {
    if (parts.length === 1) return this.root;
    const key = parts.slice(0, -1).join('/');
    let dir = this.parents.get(key);
    if (dir === undefined) {
      const real = resolveParts(this.root, parts.slice(0, -1), {
        create: true,
        onCreate: (abs) => {
          chmodSync(abs, 0o755); // whatever the umask
          this.implicitDirs.add(abs);
        },
      });
      dir = real.length === 0 ? this.root : `${this.root}/${real.join('/')}`;
      this.parents.set(key, dir);
    }
    return dir;
  }

  /** Removes what is at `abs` so that a new entry can take its place. */
  private remove(abs: string): void {
    let st;
    try {
      st = lstatSync(abs);
    } catch (err) {
      if (code(err) === 'ENOENT') return;
      throw err;
    }
    if (st.isDirectory()) {
      try {
        rmdirSync(abs);
      } catch (err) {
        if (code(err) === 'ENOTEMPTY' || code(err) === 'EEXIST') throw new ArchiveError(`cannot replace the non-empty directory ${abs.slice(this.root.length + 1)}`);
        throw err;
      }
    } else {
      unlinkSync(abs);
    }
    // A cached parent may have gone through what was removed.
    if (st.isDirectory() || st.isSymbolicLink()) this.parents.clear();
  }

  private async file(abs: string, entry: TarEntry, data?: Buffer | AsyncIterable<Buffer>): Promise<void> {
    // A small member of a tar stream comes whole (one view, no copy): fewer awaits per file.
    if (data && !Buffer.isBuffer(data) && entry.size <= WHOLE && isTarBody(data)) data = await data.buffer();
    let fd: number;
    try {
      fd = openSync(abs, OPEN_NEW, 0o600);
    } catch (err) {
      if (code(err) !== 'EEXIST') throw err;
      this.remove(abs);
      fd = openSync(abs, OPEN_NEW, 0o600);
    }
    try {
      let written = 0;
      if (Buffer.isBuffer(data)) {
        writeAll(fd, data);
        written = data.length;
      } else if (data) {
        for await (const chunk of data) {
          writeAll(fd, chunk);
          written += chunk.length;
        }
      }
      if (written !== entry.size) throw new ArchiveError(`cannot extract ${entry.path}: got ${written} bytes of data for size ${entry.size}`);
      if (this.opts.chown) fchownSync(fd, entry.uid, entry.gid);
      fchmodSync(fd, entry.mode);
      futimesSync(fd, time(entry.mtime), time(entry.mtime));
    } finally {
      closeSync(fd);
    }
  }

  private dir(abs: string, parts: string[], entry: TarEntry): void {
    try {
      mkdirSync(abs, 0o700);
    } catch (err) {
      if (code(err) !== 'EEXIST') throw err;
      const st = lstatSync(abs);
      if (st.isDirectory() && !this.implicitDirs.has(abs) && this.opts.existingDirectories !== 'replace') {
        // Keep an existing directory as it is; one an earlier entry made here takes the newest time, so the order of entries does not matter.
        const time = this.dirTimes.get(abs);
        if (time !== undefined) this.dirTimes.set(abs, Math.max(entry.mtime, time));
        return;
      }
      if (st.isSymbolicLink() && this.isDirInRoot(parts)) return; // merged /usr: bin -> usr/bin stays
      if (!st.isDirectory()) {
        this.remove(abs);
        mkdirSync(abs, 0o700);
      }
    }
    this.implicitDirs.delete(abs);
    if (this.opts.chown) chownSync(abs, entry.uid, entry.gid);
    chmodSync(abs, entry.mode);
    this.dirTimes.set(abs, this.opts.existingDirectories === 'replace' ? entry.mtime : Math.max(entry.mtime, this.dirTimes.get(abs) ?? -Infinity));
  }

  private isDirInRoot(parts: string[]): boolean {
    const real = resolveParts(this.root, parts);
    try {
      return statSync(real.length === 0 ? this.root : `${this.root}/${real.join('/')}`).isDirectory();
    } catch {
      return false;
    }
  }

  private symlink(abs: string, entry: TarEntry): void {
    const target = entry.linkpath ?? '';
    if (target === '') throw new ArchiveError(`cannot extract ${entry.path}: symlink without a target`);
    try {
      symlinkSync(target, abs);
    } catch (err) {
      if (code(err) !== 'EEXIST') throw err;
      this.remove(abs);
      symlinkSync(target, abs);
    }
    if (this.opts.chown) lchownSync(abs, entry.uid, entry.gid);
    lutimesSync(abs, time(entry.mtime), time(entry.mtime));
  }

  private hardlink(abs: string, entry: TarEntry): void {
    const target = safeComponents(entry.linkpath ?? '', 'hard link target');
    if (target.length === 0) throw new ArchiveError(`refusing to extract ${entry.path}: hard link to the root`);
    const real = resolveParts(this.root, target, { followFinal: false });
    const from = `${this.root}/${real.join('/')}`;
    const st = lstatSync(from, { throwIfNoEntry: false });
    if (!st) throw new ArchiveError(`cannot extract ${entry.path}: hard link target ${entry.linkpath} does not exist`);
    if (st.isDirectory()) throw new ArchiveError(`cannot extract ${entry.path}: hard link to a directory`);
    try {
      linkSync(from, abs);
    } catch (err) {
      if (code(err) !== 'EEXIST') throw err;
      const old = lstatSync(abs);
      if (old.ino === st.ino && old.dev === st.dev) return;
      this.remove(abs);
      linkSync(from, abs);
    }
  }

  /** Device nodes and fifos through mknod/mkfifo; false (with a warning) when that is not allowed here. */
  private special(abs: string, entry: TarEntry): boolean {
    this.remove(abs);
    const mode = (entry.mode & 0o777).toString(8);
    const args =
      entry.type === 'fifo'
        ? ['mkfifo', ['-m', mode, abs]]
        : ['mknod', ['-m', mode, abs, entry.type === 'char' ? 'c' : 'b', String(entry.devmajor ?? 0), String(entry.devminor ?? 0)]];
    const [cmd, argv] = args as [string, string[]];
    const r = spawnSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) {
      const why = r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit status ${r.status}`);
      this.warnings.push(`skipped ${entry.type} ${entry.path}: ${why}`);
      return false;
    }
    if (this.opts.chown) lchownSync(abs, entry.uid, entry.gid);
    chmodSync(abs, entry.mode);
    utimesSync(abs, time(entry.mtime), time(entry.mtime));
    return true;
  }
}

/** setfattr's escape for bytes that getfattr would escape: `\\ooo`. */
function escapeAttr(text: string, extra = ''): string {
  const bytes = Buffer.from(text, 'utf8');
  let out = '';
  for (const b of bytes) out += b <= 0x20 || b >= 0x7f || b === 0x5c || extra.includes(String.fromCharCode(b)) ? `\\${b.toString(8).padStart(3, '0')}` : String.fromCharCode(b);
  return out;
}

/** Sets extended attributes with one `setfattr --restore` run (Node has no xattr call). */
function applyXattrs(items: [string, Map<string, Buffer>][]): void {
  const dump = items
    .map(([abs, attrs]) => `# file: ${escapeAttr(abs)}\n${[...attrs].map(([name, value]) => `${escapeAttr(name, '=')}=0x${value.toString('hex')}`).join('\n')}\n`)
    .join('\n');
  const r = spawnSync('setfattr', ['-h', '--restore=-'], { input: dump, stdio: ['pipe', 'ignore', 'pipe'] });
  if (r.error) throw new ArchiveError(`cannot set extended attributes: ${r.error.message} (the attr package provides setfattr)`);
  if (r.status !== 0) throw new ArchiveError(`setfattr failed: ${r.stderr.toString().trim().split('\n').slice(-3).join('; ')}`);
}

export function createExtractor(root: string, opts: ExtractOptions): Extractor {
  return new Extractor(root, opts);
}

/** Reads a tar stream and extracts every entry into `root`. */
export async function extractTar(
  source: AsyncIterable<Buffer> | Buffer,
  root: string,
  opts: ExtractOptions & ReadTarOptions,
): Promise<ExtractResult> {
  const extractor = createExtractor(root, opts);
  for await (const { entry, body } of readTar(source, opts)) await extractor.apply(entry, body);
  return extractor.finish();
}
