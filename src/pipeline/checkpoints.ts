/**
 * The checkpoint store: the tree after a stage, kept under the stage's key
 * in `CACHE/checkpoints/KEY/` (tree.tar.zst: files with their owner, mode,
 * times, links and extended attributes; meta.json: what it is and the
 * tree's checksum). The first checkpoint of a build holds the whole tree;
 * the next ones only what their stage changed (and what it removed), on top
 * of the one before (`base`). A checkpoint is written in a temporary
 * directory and renamed into place whole, so one that exists is complete;
 * its checksum, and its bases', are checked before it is used. Temporaries
 * are named `.tmp-OWNER-...` after the host-side kiln that writes them
 * (owner.ts), so that those of killed builds can be found and removed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { spawn } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import { compress, decompress, extractTar } from '../archive/index.ts';
import { Tree } from '../tree/index.ts';
import { CommandError, UserError } from '../util/errors.ts';
import type { StageName } from './stage-names.ts';
import { currentOwner } from './owner.ts';

export const TREE_FILE = 'tree.tar.zst';
const META_FILE = 'meta.json';
/** `.tmp-PID-START-BOOT-…`; kiln before owner tokens wrote `.tmp-PID-…` (PID 1 inside the namespace), never alive now. */
const TEMPORARY = /^\.tmp-(?:(\d+-\d+-[0-9a-f]{8})-)?/;

/** A temporary of a build that is gone: `kiln cache list` shows them, the next build or `kiln cache prune` removes them. */
export interface Leftover {
  name: string;
  path: string;
  size: number;
}

export interface CheckpointMeta {
  key: string;
  stage: StageName;
  kilnVersion: string;
  /** The image directory it was built for (for `kiln cache list`). */
  image: string;
  created: string;
  /** Size and sha256 of tree.tar.zst. */
  size: number;
  sha256: string;
  /** Manifest fragments the hooks had dropped by then (name -> JSON). */
  fragments: Record<string, unknown>;
  /** The checkpoint this one changes; none for a whole tree. */
  base?: string;
  /** Paths the stage removed (or replaced by another type of file), relative to the root. */
  deleted?: string[];
}

export interface CheckpointInfo extends CheckpointMeta {
  path: string;
  /** Last time a build used or wrote it (ms). */
  used: number;
}

export class CheckpointStore {
  /** `owner`: the owner token of the host-side kiln process (inside the namespace, passed in with the job). */
  constructor(
    readonly dir: string,
    readonly owner = currentOwner(),
  ) {}

  path(key: string): string {
    return join(this.dir, key);
  }

  /** The checkpoint's metadata when it is complete and its tree has the recorded size; checksums are checked by `verify`. */
  find(key: string): CheckpointInfo | undefined {
    const path = this.path(key);
    try {
      const meta = JSON.parse(readFileSync(join(path, META_FILE), 'utf8')) as CheckpointMeta;
      const tree = statSync(join(path, TREE_FILE));
      if (meta.key !== key || tree.size !== meta.size) return undefined;
      if (meta.base && !this.find(meta.base)) return undefined;
      return { ...meta, path, used: statSync(join(path, META_FILE)).mtimeMs };
    } catch {
      return undefined;
    }
  }

  /** Reads the tree files of the checkpoint and its bases and compares their sha256 with the recorded ones; a bad one is removed. */
  async verify(info: CheckpointInfo): Promise<boolean> {
    for (const c of this.chain(info.key)) {
      const hash = createHash('sha256');
      await pipeline(createReadStream(join(c.path, TREE_FILE)), hash);
      if (hash.digest('hex') !== c.sha256) {
        await this.remove(c.key);
        return false;
      }
    }
    return true;
  }

  /** The checkpoint and its bases, whole tree first. */
  chain(key: string): CheckpointInfo[] {
    const out: CheckpointInfo[] = [];
    for (let c = this.find(key); c; c = c.base ? this.find(c.base) : undefined) out.unshift(c);
    return out;
  }

  /** Marks a checkpoint used now (pruning removes the least recently used first). */
  async touch(key: string): Promise<void> {
    const now = new Date();
    await utimes(join(this.path(key), META_FILE), now, now).catch(() => {});
  }

  private names(): string[] {
    try {
      return readdirSync(this.dir);
    } catch {
      return [];
    }
  }

  list(): CheckpointInfo[] {
    return this.names()
      .filter((n) => !n.startsWith('.'))
      .map((n) => this.find(n))
      .filter((c): c is CheckpointInfo => c !== undefined)
      .sort((a, b) => b.used - a.used);
  }

  async remove(key: string): Promise<void> {
    // Renamed away first: a reader never sees a half-removed checkpoint.
    const doomed = join(this.dir, `.tmp-${this.owner}-removing-${randomBytes(4).toString('hex')}`);
    await rename(this.path(key), doomed).catch(() => undefined);
    await rm(doomed, { recursive: true, force: true });
  }

  /** Removes the least recently used checkpoints until the rest fit in `maxBytes`; returns what was removed. */
  async prune(maxBytes: number): Promise<CheckpointInfo[]> {
    const all = this.list();
    let total = all.reduce((sum, c) => sum + c.size, 0);
    const removed: CheckpointInfo[] = [];
    for (const c of [...all].reverse()) {
      if (total <= maxBytes) break;
      if (removed.some((r) => r.key === c.key)) continue;
      // What is built on it goes with it.
      const doomed = all.filter((d) => d.key === c.key || this.chain(d.key).some((b) => b.key === c.key));
      for (const d of doomed) {
        if (removed.some((r) => r.key === d.key)) continue;
        await this.remove(d.key);
        total -= d.size;
        removed.push(d);
      }
    }
    return removed;
  }

  /** Temporaries whose owner is gone (`isAlive` decides, given an owner token). */
  leftovers(isAlive: (owner: string) => boolean): Leftover[] {
    const out: Leftover[] = [];
    for (const name of this.names().sort()) {
      const match = TEMPORARY.exec(name);
      if (!match) continue;
      const owner = match[1];
      if (owner !== undefined && isAlive(owner)) continue;
      const path = join(this.dir, name);
      out.push({ name, path, size: diskSize(path) });
    }
    return out;
  }

  /** Removes what killed builds left: temporaries whose kiln is gone, and everything that is not a whole checkpoint. Returns the temporaries removed. */
  async sweep(isAlive: (owner: string) => boolean): Promise<Leftover[]> {
    const leftovers = this.leftovers(isAlive);
    for (const l of leftovers) await rm(l.path, { recursive: true, force: true });
    for (const name of this.names().filter((n) => !n.startsWith('.'))) {
      if (!this.find(name)) await this.remove(name);
    }
    return leftovers;
  }

  /**
   * Stores `root` as the checkpoint `key` (inside the namespace: owners are
   * read as they are in the tree). `temporaries` learns the temporary
   * directory so that a stopped build removes it.
   */
  async save(
    root: string,
    meta: Omit<CheckpointMeta, 'size' | 'sha256' | 'created'>,
    temporaries: Set<string>,
    only?: ReadonlySet<string>,
  ): Promise<CheckpointMeta> {
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.tmp-${this.owner}-${randomBytes(4).toString('hex')}`);
    temporaries.add(tmp);
    try {
      await mkdir(tmp);
      const hash = createHash('sha256');
      let size = 0;
      const count = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      });
      const tar = tarOfTree(root, only);
      await Promise.all([tar.done, pipeline(tar.stream, compress('zst', 1), count, createWriteStream(join(tmp, TREE_FILE)))]);
      const full: CheckpointMeta = { ...meta, created: new Date().toISOString(), size, sha256: hash.digest('hex') };
      await writeFile(join(tmp, META_FILE), JSON.stringify(full, null, 1));
      // Another build may have stored the same key meanwhile: equal keys, equal trees; keep theirs.
      await rename(tmp, this.path(meta.key)).catch(async (err: NodeJS.ErrnoException) => {
        if (!(await stat(this.path(meta.key)).then(() => true, () => false))) throw err;
      });
      return full;
    } finally {
      temporaries.delete(tmp);
      await rm(tmp, { recursive: true, force: true }).catch(() => {});
    }
  }

  /** Unpacks a checkpoint (its whole tree, then each change on top) into the empty directory `root`, inside the namespace. */
  async restore(key: string, root: string): Promise<CheckpointMeta> {
    const chain = this.chain(key);
    if (!chain.length || chain.at(-1)?.key !== key) throw new Error(`checkpoint ${key} is incomplete`);
    for (const c of chain) {
      const tree = new Tree(root);
      for (const rel of c.deleted ?? []) tree.remove(rel, { recursive: true });
      await extractTar(decompress(createReadStream(join(c.path, TREE_FILE), { highWaterMark: 1 << 20 }), 'zst'), root, { chown: true, xattrs: true, existingDirectories: 'replace' });
      await this.touch(c.key);
    }
    return chain.at(-1) as CheckpointMeta;
  }
}

/** Bytes in a file or directory tree (0 when it vanished meanwhile). */
function diskSize(path: string): number {
  try {
    const st = lstatSync(path);
    if (!st.isDirectory()) return st.size;
    return readdirSync(path).reduce((sum, name) => sum + diskSize(join(path, name)), 0);
  } catch {
    return 0;
  }
}

/**
 * The tree (or only the paths in `only`) as a pax tar from GNU tar: owners,
 * modes, times, hard links, devices and every extended attribute, several
 * times faster than walking the tree from Node. Order does not matter here
 * (a checkpoint need not be reproducible, only faithful).
 */
function tarOfTree(root: string, only?: ReadonlySet<string>): { stream: Readable; done: Promise<void> } {
  const args = ['--create', '--file=-', '--format=posix', '--pax-option=delete=atime,delete=ctime', '--xattrs', '--xattrs-include=*', '--numeric-owner', '--directory', root];
  const child = spawn('tar', only ? [...args, '--no-recursion', '--null', '--verbatim-files-from', '--files-from=-'] : [...args, '.'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const errors: string[] = [];
  child.stderr.on('data', (d: Buffer) => errors.push(d.toString()));
  child.stdin.on('error', () => {});
  child.stdin.end(only ? [...only].sort().map((rel) => (rel === '' ? '.' : `./${rel}`)).join('\0') + (only.size ? '\0' : '') : undefined);
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new UserError('checkpoints need GNU tar on the host', 'install tar') : err));
    child.once('close', (status, signal) => (status === 0 ? resolve() : reject(new CommandError('tar (checkpoint)', status, signal, errors.join('').trim().split('\n').slice(-10)))));
  });
  return { stream: child.stdout, done };
}

/** Each path of a tree with what identifies its state: any change to content or metadata changes the ctime. */
export type TreeState = Map<string, string>;

/**
 * The size of a tree from its state (no second walk): the bytes of its
 * regular files (a hard-linked file once) and the number of paths below the root.
 */
export function treeSize(state: TreeState): { bytes: number; paths: number } {
  const inodes = new Set<string>();
  let bytes = 0;
  for (const sig of state.values()) {
    const [mode = '0', ino = '', , , , size = '0'] = sig.split(':');
    if ((Number.parseInt(mode, 8) & 0o170000) !== 0o100000 || inodes.has(ino)) continue;
    inodes.add(ino);
    bytes += Number(size);
  }
  return { bytes, paths: Math.max(state.size - 1, 0) };
}

export function treeState(root: string): TreeState {
  const state: TreeState = new Map();
  const visit = (rel: string, abs: string) => {
    const st = lstatSync(abs);
    state.set(rel, `${st.mode.toString(8)}:${st.ino}:${st.nlink}:${st.uid}:${st.gid}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`);
    if (st.isDirectory()) for (const name of readdirSync(abs)) visit(rel === '' ? name : `${rel}/${name}`, `${abs}/${name}`);
  };
  visit('', root);
  return state;
}

/**
 * What changed between two states of a tree: paths new or changed (with
 * every other name of a changed hard-linked file, so the links survive, and
 * the directory holding each changed or removed path: putting the change back
 * touches it, so its own time is put back after), and paths gone or replaced
 * by another type of file (topmost only).
 */
export function treeChanges(before: TreeState, after: TreeState): { changed: Set<string>; deleted: string[] } {
  const changed = new Set<string>();
  const deleted: string[] = [];
  const mode = (sig: string) => Number.parseInt(sig.slice(0, sig.indexOf(':')), 8) & 0o170000;
  for (const [rel, sig] of after) {
    const old = before.get(rel);
    if (old === sig) continue;
    changed.add(rel);
    if (old !== undefined && mode(old) !== mode(sig)) deleted.push(rel);
  }
  for (const rel of before.keys()) if (!after.has(rel)) deleted.push(rel);
  // Hard links: an inode that changed is written under all its names.
  const inode = (sig: string) => sig.split(':')[1] as string;
  const changedInodes = new Set([...changed].map((rel) => after.get(rel) as string).filter((sig) => Number(sig.split(':')[2]) > 1 && mode(sig) !== 0o040000).map(inode));
  if (changedInodes.size) for (const [rel, sig] of after) if (changedInodes.has(inode(sig))) changed.add(rel);
  const gone = new Set(deleted);
  const topmost = deleted.filter((rel) => !ancestors(rel).some((a) => gone.has(a) && !after.has(a)));
  for (const rel of [...changed, ...topmost]) {
    const parent = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
    if (rel !== '' && after.has(parent)) changed.add(parent);
  }
  return { changed, deleted: topmost.sort() };
}

function ancestors(rel: string): string[] {
  const parts = rel.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}
