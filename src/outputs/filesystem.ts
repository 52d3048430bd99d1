/**
 * The single-filesystem outputs (ext4, vfat, erofs, squashfs, btrfs): the
 * whole finished tree as one filesystem image, NAME.ext4 and so on. Its size
 * is filesystem.size, or for "auto" what the tree needs plus
 * filesystem.headroom, rounded up to 1 MiB (erofs and squashfs are as large
 * as their content); its UUID derives from the seed, its label is
 * filesystem.label. A fixed size too small for the tree is a UserError
 * before the tool runs.
 */
import { headroomBytes } from '../config/image-kinds.ts';
import { filesystemUuid } from '../disk/seed.ts';
import { UserError } from '../util/errors.ts';
import { FILESYSTEMS, measureContent, type FilesystemMaker } from './filesystems/index.ts';
import { GETFATTR } from './host-tools.ts';
import type { OutputWriter, WriterInput } from './writer.ts';

export type WholeTreeFilesystem = 'ext4' | 'vfat' | 'erofs' | 'squashfs' | 'btrfs';

const MIB = 1 << 20;

const inMiB = (bytes: number): string => `${Math.ceil(bytes / MIB)}M`;

/** The image size for a sized filesystem: the setting, or auto from the content. */
export function filesystemSize(maker: FilesystemMaker, needed: number, size: number | 'auto', headroom: `${number}%` | number): number {
  if (size === 'auto') return Math.max(maker.minimumSize, Math.ceil((needed + headroomBytes(headroom, needed)) / MIB) * MIB);
  const least = Math.max(needed, maker.minimumSize);
  if (size < least) {
    throw new UserError(
      `filesystem.size = ${inMiB(size)} is too small for the ${maker.name} output: the tree needs ${inMiB(least)}`,
      `set filesystem.size to at least ${inMiB(least)}, or to "auto"`,
    );
  }
  return size;
}

/** filesystem.label, checked against what the filesystem keeps. */
export function checkedLabel(maker: FilesystemMaker, label: string | undefined): string | undefined {
  if (label === undefined || maker.maxLabelBytes === undefined) return label;
  if (Buffer.byteLength(label) > maker.maxLabelBytes) {
    throw new UserError(`filesystem.label ${JSON.stringify(label)} is too long for ${maker.name}: it keeps ${maker.maxLabelBytes} bytes`, 'choose a shorter label');
  }
  return label;
}

export function filesystemWriter(name: WholeTreeFilesystem): OutputWriter<never> {
  const maker = FILESYSTEMS[name];
  return {
    fileName: (base) => `${base}.${name}`,
    // getfattr: the tree's xattrs, for the measure of a sized filesystem.
    tools: maker.sized ? [GETFATTR, ...maker.tools] : maker.tools,
    from: [],
    takesTree: false,
    write: async ({ root, tmp, tree, config, seed, sourceDateEpoch }: WriterInput) => {
      const label = checkedLabel(maker, config['filesystem.label']);
      let size: number | undefined;
      if (maker.sized) {
        const content = await measureContent(root, await tree.xattrs());
        size = filesystemSize(maker, maker.neededSize(content), config['filesystem.size'], config['filesystem.headroom']);
      }
      const made = await maker.make({ source: root, image: tmp, size, uuid: filesystemUuid(seed, 0), label, sourceDateEpoch });
      return { filesystem: name, uuid: made.uuid, size: made.size };
    },
  };
}
