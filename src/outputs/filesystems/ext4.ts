/**
 * ext4 with mke2fs -d, made reproducible. e2fsprogs 1.47.0 takes the UUID,
 * the directory hash seed and (E2FSPROGS_FAKE_TIME) every time of its own
 * from us, and walks each source directory in sorted order (in the C
 * locale), but it copies each source file's atime and ctime into its inode,
 * and a tree's ctimes are when the build wrote it. So after mke2fs a
 * debugfs pass sets atime, ctime and crtime (and their nanoseconds) of every
 * inode in use to SOURCE_DATE_EPOCH, and the root directory's mode (mke2fs
 * leaves it 0755; root_owner gives its owner). Modification times are the
 * tree's, clamped to SOURCE_DATE_EPOCH first (a no-op for a finalized tree).
 */
import { rm, writeFile } from 'node:fs/promises';
import { lstatSync } from 'node:fs';
import { clampTreeTimes } from '../../tree/index.ts';
import { BuildError } from '../../util/errors.ts';
import { DEBUGFS, DUMPE2FS, MKE2FS } from '../host-tools.ts';
import { measureContent } from './measure.ts';
import { runTool } from './tool.ts';
import type { ContentMeasure, FilesystemMaker } from './types.ts';

const BLOCK = 4096;
const INODE_SIZE = 256;
const MIB = 1 << 20;

/** Inodes the filesystem gets for content with `inodes` inodes: a fifth more, at least one per 16 KiB (mke2fs's own default ratio). */
function inodeCount(inodes: number, size: number): number {
  return Math.max(Math.floor(size / 16384), inodes + Math.ceil(inodes / 5) + 64);
}

/** mke2fs's default journal size in blocks for a filesystem of `blocks` 4 KiB blocks (ext2fs_default_journal_size). */
function journalBlocks(blocks: number): number {
  if (blocks < 2048) return 0;
  if (blocks < 32768) return 1024;
  if (blocks < 256 * 1024) return 4096;
  if (blocks < 512 * 1024) return 8192;
  if (blocks < 4096 * 1024) return 16384;
  if (blocks < 8192 * 1024) return 32768;
  if (blocks < 16384 * 1024) return 65536;
  if (blocks < 32768 * 1024) return 131072;
  return 262144;
}

function neededSize(c: ContentMeasure): number {
  // Data, one block per directory plus its entries, long symlinks and xattrs that leave the inode, a little for extent trees.
  const dataBlocks = c.blocks4k + c.directories + Math.ceil((c.inodes * 48) / BLOCK) + Math.ceil(c.symlinks / 8) + Math.ceil((c.xattrBytes * 2) / BLOCK) + Math.ceil(c.blocks4k / 256);
  let blocks = dataBlocks;
  for (let i = 0; i < 3; i++) {
    const groups = Math.ceil(blocks / 32768);
    const inodeTable = Math.ceil((inodeCount(c.inodes, blocks * BLOCK) * INODE_SIZE) / BLOCK);
    // Per group: bitmaps, descriptors and the sparse superblock backups (a generous 4 blocks), the reserved GDT blocks of the first.
    blocks = dataBlocks + inodeTable + journalBlocks(blocks) + groups * 4 + 256;
  }
  // A twentieth and 4 MiB more for what the estimate leaves out (htree index blocks, fragmented extents, reserved GDT blocks).
  return Math.ceil((blocks * BLOCK * 1.05 + 4 * MIB) / MIB) * MIB;
}

/** The inode numbers in use after mke2fs, from dumpe2fs's per-group free ranges. */
export function usedInodes(dumpe2fs: string): number[] {
  const count = Number(/^Inode count:\s+(\d+)/m.exec(dumpe2fs)?.[1]);
  if (!Number.isInteger(count) || count <= 0) throw new BuildError('dumpe2fs printed no inode count');
  const free = new Uint8Array(count + 1);
  for (const m of dumpe2fs.matchAll(/^\s+Free inodes: (.*)$/gm)) {
    for (const range of m[1]!.split(',')) {
      const [a, b] = range.trim().split('-').map(Number);
      if (a === undefined || Number.isNaN(a)) continue;
      for (let n = a; n <= (b ?? a); n++) free[n] = 1;
    }
  }
  const used: number[] = [2];
  for (let n = 11; n <= count; n++) if (!free[n]) used.push(n);
  return used;
}

/** The debugfs commands that give every inode in use the fixed times, and the root its mode. */
export function timeCommands(inodes: readonly number[], epoch: number, rootMode: number): string {
  const lines = [`sif <2> mode 0${(0o040000 | (rootMode & 0o7777)).toString(8)}`];
  for (const n of inodes) {
    for (const field of ['atime', 'ctime', 'crtime']) lines.push(`sif <${n}> ${field}_extra 0`, `sif <${n}> ${field} @${epoch}`);
  }
  return `${lines.join('\n')}\n`;
}

export const ext4: FilesystemMaker = {
  name: 'ext4',
  tools: [MKE2FS, DUMPE2FS, DEBUGFS],
  sized: true,
  minimumSize: 8 * MIB,
  neededSize,
  maxLabelBytes: 16,
  fstabId: (uuid) => uuid.toLowerCase(),
  make: async ({ source, image, size, uuid, label, sourceDateEpoch }) => {
    if (size === undefined) throw new Error('ext4 needs a size');
    clampTreeTimes(source, sourceDateEpoch);
    const content = await measureContent(source, new Map());
    const top = lstatSync(source);
    const fake = { E2FSPROGS_FAKE_TIME: String(sourceDateEpoch) };
    const blocks = Math.floor(size / BLOCK);
    await runTool(
      'mke2fs',
      [
        '-q', '-t', 'ext4', '-b', String(BLOCK), '-I', String(INODE_SIZE), '-N', String(inodeCount(content.inodes, blocks * BLOCK)),
        '-U', uuid, '-E', `hash_seed=${uuid},root_owner=${top.uid}:${top.gid}`, ...(label ? ['-L', label] : []),
        '-d', source, image, String(blocks),
      ],
      sourceDateEpoch,
      fake,
    );
    const inodes = usedInodes(await runTool('dumpe2fs', [image], sourceDateEpoch, fake));
    const commands = `${image}.debugfs`;
    await writeFile(commands, timeCommands(inodes, sourceDateEpoch, top.mode));
    try {
      // debugfs reports a failed command on stderr and still exits 0: read both, every line but its banner and echoes is a complaint.
      const out = await runTool('sh', ['-c', 'exec debugfs "$@" 2>&1', 'debugfs', '-w', '-f', commands, image], sourceDateEpoch, fake);
      const complaint = out.split('\n').find((l) => l.trim() !== '' && !l.startsWith('debugfs'));
      if (complaint) throw new BuildError(`debugfs could not set the inode times in ${image}: ${complaint}`);
    } finally {
      await rm(commands, { force: true });
    }
    return { uuid: uuid.toLowerCase(), size: blocks * BLOCK };
  },
};
