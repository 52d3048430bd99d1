/**
 * btrfs with mkfs.btrfs --rootdir (btrfs-progs 6.2): owners, modes and
 * xattrs are the tree's, the UUID and label ours, mtimes clamped first.
 * Not reproducible: btrfs-progs stamps the clock into the inodes and
 * generates further ids (chunk tree and device UUIDs) it takes no option
 * for, so two builds differ; the README says so and the tests name it as
 * the known exception.
 */
import { clampTreeTimes } from '../../tree/index.ts';
import { MKFS_BTRFS } from '../host-tools.ts';
import { createSparseFile, runTool } from './tool.ts';
import type { ContentMeasure, FilesystemMaker } from './types.ts';

const MIB = 1 << 20;

/** Data with a tenth more for extents, metadata twice (DUP) at about 1 KiB per inode, and the first chunks' own space. */
function neededSize(c: ContentMeasure): number {
  const data = c.blocks4k * 4096 * 1.1;
  const metadata = 2 * (c.inodes * 1024 + c.xattrBytes * 2);
  return Math.ceil((data + metadata + 24 * MIB) / MIB) * MIB;
}

export const btrfs: FilesystemMaker = {
  name: 'btrfs',
  tools: [MKFS_BTRFS],
  sized: true,
  minimumSize: 16 * MIB,
  neededSize,
  maxLabelBytes: 255,
  fstabId: (uuid) => uuid.toLowerCase(),
  make: async ({ source, image, size, uuid, label, sourceDateEpoch }) => {
    if (size === undefined) throw new Error('btrfs needs a size');
    clampTreeTimes(source, sourceDateEpoch);
    await createSparseFile(image, size);
    await runTool('mkfs.btrfs', ['-q', '--rootdir', source, '-U', uuid, ...(label ? ['-L', label] : []), '-b', String(size), image], sourceDateEpoch);
    return { uuid: uuid.toLowerCase(), size };
  },
};
