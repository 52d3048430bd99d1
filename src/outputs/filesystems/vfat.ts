/**
 * vfat with mkfs.vfat and mtools, never mounted. The volume id is the UUID's
 * first 8 hex digits. mkfs.fat 4.2 ignores SOURCE_DATE_EPOCH and stamps the
 * clock into the volume label's directory entry, so it runs with
 * --invariant (fixed values of its own) and that entry's times are then set
 * to SOURCE_DATE_EPOCH (--invariant's 2015 date may be after it);
 * mtools takes "now" from SOURCE_DATE_EPOCH (for the directories mmd makes)
 * and each file's time from the file (mcopy -m, in UTC), after the source's
 * times are clamped to SOURCE_DATE_EPOCH. Directories are made and files
 * copied in byte order of their names, one mcopy per directory, so that the
 * directory entries (and the short names mtools derives) do not depend on
 * the order the host's filesystem lists them in. FAT keeps no owners,
 * modes, links or special files: a symlink, device, FIFO or socket in the
 * source is a UserError naming it.
 */
import { open } from 'node:fs/promises';
import { clampTreeTimes, walkTree } from '../../tree/index.ts';
import { UserError } from '../../util/errors.ts';
import { MCOPY, MKFS_VFAT, MMD } from '../host-tools.ts';
import { createSparseFile, runTool } from './tool.ts';
import type { ContentMeasure, FilesystemMaker } from './types.ts';

const MIB = 1 << 20;
const CLUSTER = 4096;
/** mkfs.vfat makes FAT32 (what UEFI asks of an ESP) from this size on without warning of too few clusters. */
export const FAT32_FROM = 33 * MIB;
/** Arguments per mmd/mcopy run. */
const BATCH = 200;

function neededSize(c: ContentMeasure): number {
  const entries = c.files + c.directories + c.symlinks + c.others;
  // Clusters of 4 KiB at most up to 8 GiB (FAT32); each directory at least one, its entries with their long names.
  const data = c.blocks4k * CLUSTER + c.directories * CLUSTER + Math.ceil((entries * 96) / CLUSTER) * CLUSTER;
  const fats = 2 * 4 * Math.ceil(data / 512);
  return Math.ceil((data + fats + 128 * 1024 + MIB) / MIB) * MIB;
}

/** "ABCD-1234": the volume id as blkid and fstab write it. */
function volumeId(uuid: string): string {
  const hex = uuid.replace(/-/g, '').slice(0, 8).toUpperCase();
  if (!/^[0-9A-F]{8}$/.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  return hex;
}

interface FatContent {
  /** Directories below the root, as ::/a/b, parents first. */
  directories: string[];
  /** Host paths of the regular files, by their directory (:: for the root). */
  files: Map<string, string[]>;
}

/** The source's directories and files in byte order; a symlink or special file is a UserError. */
function fatContent(source: string): FatContent {
  const content: FatContent = { directories: [], files: new Map([['::', []]]) };
  walkTree(source, (rel, st, host) => {
    if (rel === '') return;
    const slash = rel.lastIndexOf('/');
    const parent = slash < 0 ? '::' : `::/${rel.slice(0, slash)}`;
    if (st.isDirectory()) {
      content.directories.push(`::/${rel}`);
      content.files.set(`::/${rel}`, []);
    } else if (st.isFile()) {
      content.files.get(parent)!.push(host);
    } else {
      const kind = st.isSymbolicLink() ? 'a symlink' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a device';
      throw new UserError(`vfat cannot hold /${rel}: it is ${kind}`, 'FAT keeps regular files and directories only: remove it from what goes into the vfat filesystem, or choose another filesystem');
    }
  });
  return content;
}

/** `epoch` as a FAT date and time (UTC, 2-second steps, 1980 at the earliest). */
export function dosDateTime(epoch: number): { date: number; time: number } {
  const d = new Date(Math.max(epoch, 315532800) * 1000);
  return {
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
  };
}

/**
 * Gives the volume label's directory entry (the first in the root
 * directory, where mkfs.vfat puts it) SOURCE_DATE_EPOCH as its times in
 * place of --invariant's fixed date, which may be after it.
 */
async function stampLabelEntry(image: string, epoch: number): Promise<void> {
  const file = await open(image, 'r+');
  try {
    const boot = Buffer.alloc(512);
    await file.read(boot, 0, 512, 0);
    const bytesPerSector = boot.readUInt16LE(11);
    const sectorsPerCluster = boot.readUInt8(13);
    const reserved = boot.readUInt16LE(14);
    const fats = boot.readUInt8(16);
    const rootEntries = boot.readUInt16LE(17);
    const fatSectors = boot.readUInt16LE(22) || boot.readUInt32LE(36);
    let rootDir = (reserved + fats * fatSectors) * bytesPerSector;
    if (rootEntries === 0) rootDir += (boot.readUInt32LE(44) - 2) * sectorsPerCluster * bytesPerSector; // FAT32: the root directory's cluster
    const entry = Buffer.alloc(32);
    await file.read(entry, 0, 32, rootDir);
    if (entry[11] !== 0x08) return; // no label entry
    const { date, time } = dosDateTime(epoch);
    entry.writeUInt16LE(time, 14);
    entry.writeUInt16LE(date, 16);
    entry.writeUInt16LE(date, 18);
    entry.writeUInt16LE(time, 22);
    entry.writeUInt16LE(date, 24);
    await file.write(entry, 0, 32, rootDir);
  } finally {
    await file.close();
  }
}

function batches<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH) out.push(items.slice(i, i + BATCH));
  return out;
}

export const vfat: FilesystemMaker = {
  name: 'vfat',
  tools: [MKFS_VFAT, MMD, MCOPY],
  sized: true,
  minimumSize: MIB,
  neededSize,
  maxLabelBytes: 11,
  fstabId: (uuid) => `${volumeId(uuid).slice(0, 4)}-${volumeId(uuid).slice(4)}`,
  make: async ({ source, image, size, uuid, label, sourceDateEpoch }) => {
    if (size === undefined) throw new Error('vfat needs a size');
    const content = fatContent(source);
    clampTreeTimes(source, sourceDateEpoch);
    const env = { MTOOLS_SKIP_CHECK: '1', MTOOLSRC: '/dev/null' };
    await createSparseFile(image, size);
    const fat32 = size >= FAT32_FROM ? ['-F', '32'] : [];
    await runTool('mkfs.vfat', ['--invariant', '-i', volumeId(uuid), ...fat32, ...(label ? ['-n', label] : []), image], sourceDateEpoch);
    if (label) await stampLabelEntry(image, sourceDateEpoch);
    for (const dirs of batches(content.directories)) await runTool('mmd', ['-i', image, ...dirs], sourceDateEpoch, env);
    for (const [dir, files] of content.files) {
      for (const some of batches(files)) await runTool('mcopy', ['-m', '-i', image, ...some, `${dir}/`], sourceDateEpoch, env);
    }
    return { uuid: vfat.fstabId(uuid), size };
  },
};
