/**
 * A directory tree as a listing: the archive walk (symlinks never followed,
 * sockets left out), each regular file hashed as a stream, extended
 * attributes from one getfattr run, owners as the image sees them
 * (id-view.ts). The tree is its own package database.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readlinkSync } from 'node:fs';
import { readXattrs, walkTree } from '../archive/index.ts';
import { major, minor } from '../archive/tree-walk.ts';
import { Tree } from '../tree/index.ts';
import { findOnPath } from '../util/path.ts';
import { imageIdView } from './id-view.ts';
import type { InputReader, ListedInput, Listing } from './types.ts';
import { xattrLines } from './xattrs.ts';

export async function hashFile(abs: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(abs, { highWaterMark: 256 << 10 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export const directoryReader: InputReader = {
  name: 'directory',
  recognises: (_path, _head, isDirectory) => isDirectory,
  async list(root: string): Promise<ListedInput> {
    const xattrs = findOnPath('getfattr') ? await readXattrs(root) : new Map();
    const ids = imageIdView();
    const listing: Listing = new Map();
    await walkTree(root, async ({ rel, abs, st, type }) => {
      const path = rel === '' ? '.' : rel;
      listing.set(path, {
        path,
        type,
        mode: st.mode & 0o7777,
        uid: ids.uid(st.uid),
        gid: ids.gid(st.gid),
        mtime: Math.floor(st.mtimeMs / 1000),
        size: type === 'file' ? st.size : 0,
        sha256: type === 'file' ? await hashFile(abs) : undefined,
        target: type === 'symlink' ? readlinkSync(abs, 'utf8') : undefined,
        device: type === 'char' || type === 'block' ? `${major(st.rdev)},${minor(st.rdev)}` : undefined,
        xattrs: xattrLines(xattrs.get(path)),
      });
    });
    return {
      listing,
      databaseRoot: root,
      readFiles: async (paths, maxBytes) => {
        const tree = new Tree(root);
        const out = new Map<string, Buffer>();
        for (const p of paths) {
          const e = listing.get(p);
          if (e?.type === 'file' && e.size <= maxBytes) out.set(p, tree.readBytes(p));
        }
        return out;
      },
      dispose: async () => {},
    };
  },
};
