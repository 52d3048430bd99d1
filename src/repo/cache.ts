/**
 * A content-addressed blob store: `<dir>/blobs/sha256/ab/abcdef…`.
 *
 * Every write goes to a temporary file under `<dir>/blobs/tmp/` (same
 * filesystem), is fsynced and then renamed into place, so a reader never sees
 * a half-written blob. Losing the race to a concurrent writer of the same
 * blob is fine: the content is the same by construction.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../util/errors.ts';

const SHA256_HEX = /^[0-9a-f]{64}$/;
const TEMP_SUFFIX = '.part';

/** Lower-cases and checks a sha256 hex digest; anything else (e.g. `../x` from a hostile index) is refused. */
export function normalizeSha256(sha256: string): string {
  const hex = sha256.toLowerCase();
  if (!SHA256_HEX.test(hex)) throw new UserError(`not a sha256 digest: ${JSON.stringify(sha256.slice(0, 80))}`);
  return hex;
}

/** A file being written that becomes a blob on `commit`, or disappears on `discard`. */
export class TempBlob {
  #closed = false;

  constructor(
    private readonly store: BlobStore,
    readonly path: string,
    readonly handle: FileHandle,
  ) {}

  /** Writes at `position`; a full or read-only disk becomes a `UserError`. */
  async write(chunk: Uint8Array, position: number): Promise<void> {
    try {
      await this.handle.write(chunk, 0, chunk.length, position);
    } catch (err) {
      throw cacheError(err, this.store.dir);
    }
  }

  /** fsyncs, closes and renames the file into the store. The caller has checked that the content hashes to `sha256`. */
  async commit(sha256: string): Promise<string> {
    const hex = normalizeSha256(sha256);
    await this.handle.sync();
    await this.close();
    const target = this.store.pathFor(hex);
    const dir = join(target, '..');
    await mkdir(dir, { recursive: true });
    // rename(2) atomically replaces an existing target; if a concurrent build got
    // there first its file has the same content, and open readers keep their inode.
    await rename(this.path, target);
    await syncDirectory(dir);
    return target;
  }

  /** Closes and removes the file; safe to call twice and after `commit`. */
  async discard(): Promise<void> {
    await this.close();
    await rm(this.path, { force: true });
  }

  private async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.handle.close();
  }
}

export class BlobStore {
  readonly blobDir: string;
  readonly tempDir: string;
  #tempDirReady: Promise<unknown> | undefined;

  /** `dir` is kiln's cache directory (`$XDG_CACHE_HOME/kiln`); blobs live under `dir/blobs`. */
  constructor(readonly dir: string) {
    this.blobDir = join(dir, 'blobs', 'sha256');
    this.tempDir = join(dir, 'blobs', 'tmp');
  }

  pathFor(sha256: string): string {
    const hex = normalizeSha256(sha256);
    return join(this.blobDir, hex.slice(0, 2), hex);
  }

  async has(sha256: string): Promise<boolean> {
    try {
      return (await stat(this.pathFor(sha256))).isFile();
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return false;
      throw err;
    }
  }

  /** Removes a blob (found damaged); a blob that is not there is no error. */
  async remove(sha256: string): Promise<void> {
    await rm(this.pathFor(sha256), { force: true });
  }

  /** Opens a new, uniquely named temporary file (pid + random) in the store's filesystem. */
  async createTemp(): Promise<TempBlob> {
    const path = join(this.tempDir, `${process.pid}-${randomBytes(8).toString('hex')}${TEMP_SUFFIX}`);
    try {
      this.#tempDirReady ??= mkdir(this.tempDir, { recursive: true });
      await this.#tempDirReady;
      return new TempBlob(this, path, await open(path, 'wx', 0o644));
    } catch (err) {
      this.#tempDirReady = undefined;
      throw cacheError(err, this.dir);
    }
  }

  /** Stores `data` and returns its path; if `sha256` is given the data must match it. */
  async putBytes(data: Uint8Array, sha256?: string): Promise<{ path: string; sha256: string }> {
    const actual = createHash('sha256').update(data).digest('hex');
    if (sha256 !== undefined && normalizeSha256(sha256) !== actual) {
      throw new UserError(`data does not match its checksum: expected sha256 ${sha256}, got ${actual}`);
    }
    if (await this.has(actual)) return { path: this.pathFor(actual), sha256: actual };
    const temp = await this.createTemp();
    try {
      await temp.handle.writeFile(data);
      return { path: await temp.commit(actual), sha256: actual };
    } finally {
      await temp.discard();
    }
  }

  /**
   * Removes temporaries not modified for `olderThanMs` (left by killed processes).
   * A live download touches its file continuously, so an age of minutes is safe.
   * Returns how many were removed.
   */
  async sweepTemporaries(olderThanMs: number): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.tempDir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return 0;
      throw err;
    }
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const name of names) {
      if (!name.endsWith(TEMP_SUFFIX)) continue;
      const path = join(this.tempDir, name);
      try {
        if ((await stat(path)).mtimeMs > cutoff) continue;
        await rm(path, { force: true });
        removed++;
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err; // someone else committed or swept it
      }
    }
    return removed;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const CACHE_ERRORS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a path component is not a directory',
};

/** Errors the user can fix (permissions, a full disk) become a `UserError`; others stay as they are. */
function cacheError(err: unknown, dir: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason = code === undefined ? undefined : CACHE_ERRORS[code];
  if (reason === undefined) return err;
  return new UserError(`cannot write to the download cache ${dir}: ${reason}`, 'free some space, or point XDG_CACHE_HOME at a writable directory', { cause: err });
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}
