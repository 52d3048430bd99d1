/**
 * squashfs with mksquashfs: -all-time and -mkfs-time fix every inode time and
 * the superblock's (-reproducible alone leaves the latter), xattrs kept.
 * mksquashfs writes its fragments in order whatever the number of threads,
 * so its output does not depend on -processors (the unit test checks 1
 * against 2). squashfs has no UUID or label: fstabId is the given UUID for
 * the manifest only, and the image is as large as the content compresses to.
 */
import { availableParallelism } from 'node:os';
import { stat } from 'node:fs/promises';
import { MKSQUASHFS } from '../host-tools.ts';
import { runTool } from './tool.ts';
import type { ContentMeasure, FilesystemMaker } from './types.ts';

const BLOCK = 4096;

/** At most the content uncompressed, in 4 KiB blocks, with an inode and directory entry each. */
function neededSize(c: ContentMeasure): number {
  return c.blocks4k * BLOCK + c.inodes * 64 + c.directories * 64 + c.xattrBytes * 2 + 16 * BLOCK;
}

/** mksquashfs with `processors` threads (exported for the test that the output does not depend on it). */
export async function runMksquashfs(source: string, image: string, sourceDateEpoch: number, processors: number): Promise<void> {
  const epoch = String(sourceDateEpoch);
  await runTool('mksquashfs', [source, image, '-noappend', '-all-time', epoch, '-mkfs-time', epoch, '-no-progress', '-quiet', '-processors', String(processors)], undefined);
}

export const squashfs: FilesystemMaker = {
  name: 'squashfs',
  tools: [MKSQUASHFS],
  sized: false,
  minimumSize: BLOCK,
  neededSize,
  fstabId: (uuid) => uuid.toLowerCase(),
  noUuid: true,
  make: async ({ source, image, uuid, sourceDateEpoch }) => {
    await runMksquashfs(source, image, sourceDateEpoch, availableParallelism());
    return { uuid: uuid.toLowerCase(), size: (await stat(image)).size };
  },
};
