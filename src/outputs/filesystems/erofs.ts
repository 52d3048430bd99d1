/**
 * erofs with mkfs.erofs, uncompressed: -T gives the superblock its time and,
 * with SOURCE_DATE_EPOCH in its environment, erofs-utils 1.5 clamps each
 * inode's mtime to it (without, -T would stamp every inode with it and lose
 * the tree's mtimes); -U gives the UUID; owners, modes and xattrs are the
 * tree's. erofs-utils 1.5 (Debian 12) has no label option, so a label is
 * not written. The image is as large as the content makes it.
 */
import { stat } from 'node:fs/promises';
import { MKFS_EROFS } from '../host-tools.ts';
import { runTool } from './tool.ts';
import type { ContentMeasure, FilesystemMaker } from './types.ts';

const BLOCK = 4096;

/** Data in 4 KiB blocks (tails may be inlined), 64 bytes of inode and a directory block each, xattrs. */
function neededSize(c: ContentMeasure): number {
  return c.blocks4k * BLOCK + c.inodes * 64 + c.directories * BLOCK + c.bytes % BLOCK + c.xattrBytes * 2 + Math.ceil(c.symlinks / 32) * BLOCK + 16 * BLOCK;
}

export const erofs: FilesystemMaker = {
  name: 'erofs',
  tools: [MKFS_EROFS],
  sized: false,
  minimumSize: BLOCK,
  neededSize,
  fstabId: (uuid) => uuid.toLowerCase(),
  make: async ({ source, image, uuid, sourceDateEpoch }) => {
    await runTool('mkfs.erofs', ['--quiet', `-T${sourceDateEpoch}`, `-U${uuid}`, image, source], sourceDateEpoch);
    return { uuid: uuid.toLowerCase(), size: (await stat(image)).size };
  },
};
