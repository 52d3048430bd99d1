/** The filesystem makers by name, and what they share: the content measure. */
import { btrfs } from './btrfs.ts';
import { erofs } from './erofs.ts';
import { ext4 } from './ext4.ts';
import { squashfs } from './squashfs.ts';
import { swap } from './swap.ts';
import type { FilesystemMaker, FilesystemName } from './types.ts';
import { vfat } from './vfat.ts';

export const FILESYSTEMS: Readonly<Record<FilesystemName, FilesystemMaker>> = { ext4, vfat, erofs, squashfs, btrfs, swap };

export { measureContent } from './measure.ts';
export { FILESYSTEM_NAMES, type ContentMeasure, type FilesystemMaker, type FilesystemName, type MadeFilesystem, type MakeFilesystemInput } from './types.ts';
