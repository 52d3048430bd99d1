/**
 * What a directory holds, as the filesystems' size estimates need it: one
 * lstat walk (src/tree), each hard-linked inode counted once, and the bytes
 * of its extended attributes (from the map the writers already share, or
 * one getfattr run).
 */
import { readXattrs, type XattrMap } from '../../archive/index.ts';
import { walkTree } from '../../tree/index.ts';
import type { ContentMeasure } from './types.ts';

const BLOCK = 4096;

/** Extended attribute bytes (names and values) of every path in the map. */
function xattrBytesOf(xattrs: XattrMap): number {
  let bytes = 0;
  for (const attrs of xattrs.values()) for (const [name, value] of attrs) bytes += Buffer.byteLength(name) + value.length;
  return bytes;
}

/**
 * Measures the tree at `dir`. `xattrs` is the tree's extended attributes
 * by path relative to `dir` when the caller has them (only their bytes
 * count, so a map of a larger tree must not be passed); otherwise getfattr
 * reads them.
 */
export async function measureContent(dir: string, xattrs?: XattrMap): Promise<ContentMeasure> {
  const m: ContentMeasure = { bytes: 0, blocks4k: 0, files: 0, directories: 0, symlinks: 0, others: 0, inodes: 0, xattrBytes: 0 };
  const seen = new Set<string>();
  walkTree(dir, (_rel, st) => {
    if (!st.isDirectory() && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) return;
      seen.add(key);
    }
    m.inodes++;
    if (st.isFile()) {
      m.files++;
      m.bytes += st.size;
      m.blocks4k += Math.ceil(st.size / BLOCK);
    } else if (st.isDirectory()) {
      m.directories++;
    } else if (st.isSymbolicLink()) {
      m.symlinks++;
      m.bytes += st.size;
    } else {
      m.others++;
    }
  });
  m.xattrBytes = xattrBytesOf(xattrs ?? (await readXattrs(dir)));
  return m;
}
