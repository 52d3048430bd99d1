/**
 * The walk every archive of a tree shares (tar, cpio, the OCI layer): each
 * path once, byte-wise sorted, a directory before its contents, symlinks
 * never followed, sockets left out (no archive format kiln writes can hold
 * one usefully), and the few stat facts an archive needs.
 */
import { closeSync, lstatSync, openSync, readdirSync, readSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import type { TarEntryType } from './types.ts';

// eslint-disable-next-line no-control-regex
const HAS_SURROGATE = /[\ud800-\udfff]/;

/** Byte-wise (UTF-8) order. JS string order agrees with it unless surrogates are involved. */
export function sortBytewise(names: string[]): string[] {
  if (names.some((n) => HAS_SURROGATE.test(n))) {
    return names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function major(rdev: number): number {
  return Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
}

export function minor(rdev: number): number {
  return Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));
}

/** The kind of a tree path, or undefined for a socket (left out of every archive). */
export type TreeEntryType = Exclude<TarEntryType, 'hardlink'>;

export function entryType(st: Stats): TreeEntryType | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return undefined;
}

/** Reads a file whose size lstat gave (readFileSync would fstat it again). */
export function readSmall(abs: string, size: number): Buffer {
  const fd = openSync(abs, 'r');
  try {
    const buf = Buffer.allocUnsafe(size);
    let n = 0;
    while (n < size) {
      const got = readSync(fd, buf, n, size - n, null);
      if (got === 0) break; // it shrank meanwhile: take what is there
      n += got;
    }
    return n === size ? buf : buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** The identity of an inode, for finding the other names of a hard-linked file. */
export function inodeKey(abs: string, st: Stats): string {
  const ino = st.ino > Number.MAX_SAFE_INTEGER ? lstatSync(abs, { bigint: true }).ino : st.ino;
  return `${st.dev}:${ino}`;
}

/** One path of the tree: relative to the root ('' for the root itself), absolute, its lstat and kind. */
export interface TreePath {
  rel: string;
  abs: string;
  st: Stats;
  type: TreeEntryType;
}

/**
 * Calls `visit` for every path under `root` (the root first, as ''), in
 * archive order; each visit is awaited before the next path is read.
 */
export async function walkTree(root: string, visit: (path: TreePath) => Promise<void> | void): Promise<void> {
  async function walk(rel: string, abs: string, st: Stats): Promise<void> {
    const type = entryType(st);
    if (!type) return;
    await visit({ rel, abs, st, type });
    if (type !== 'dir') return;
    const prefix = rel === '' ? '' : `${rel}/`;
    for (const name of sortBytewise(readdirSync(abs))) {
      const childAbs = `${abs}/${name}`;
      await walk(prefix + name, childAbs, lstatSync(childAbs));
    }
  }
  const top = resolve(root);
  const st = lstatSync(top);
  if (!st.isDirectory()) throw new Error(`${root} is not a directory`);
  await walk('', top, st);
}
