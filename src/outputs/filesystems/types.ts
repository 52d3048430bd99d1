/**
 * The shape of a filesystem maker: one module per filesystem (ext4, vfat,
 * erofs, squashfs, btrfs, swap), each turning a directory into an image file
 * with the host's real tool, reproducibly (UUIDs and times given, never
 * taken from the clock). The disk output and the single-filesystem outputs
 * use them alike.
 */
import type { HostTool } from '../writer.ts';

export const FILESYSTEM_NAMES = ['ext4', 'vfat', 'erofs', 'squashfs', 'btrfs', 'swap'] as const;
export type FilesystemName = (typeof FILESYSTEM_NAMES)[number];

/** What a directory holds, as the size estimates need it (measureContent). */
export interface ContentMeasure {
  /** Sum of the apparent sizes of regular files (each hard-linked file once) and symlink targets. */
  bytes: number;
  /** Sum over regular files of their size rounded up to 4 KiB blocks. */
  blocks4k: number;
  files: number;
  directories: number;
  symlinks: number;
  /** Devices, FIFOs, sockets. */
  others: number;
  /** Every inode (files + directories + symlinks + others, hard links once). */
  inodes: number;
  /** Bytes of extended attribute names and values. */
  xattrBytes: number;
}

export interface MakeFilesystemInput {
  /** The directory that becomes the filesystem's root (its owner and mode too). */
  source: string;
  /** The image file to write (it does not exist yet). */
  image: string;
  /** The image's size in bytes, for a filesystem that has a fixed size (`sized`). */
  size?: number;
  /** The filesystem UUID (a UUID string; vfat takes the low 32 bits of its first 8 hex digits as its volume id). */
  uuid: string;
  label?: string;
  /** Every time in the filesystem (inodes, superblock) is this or earlier. */
  sourceDateEpoch: number;
}

export interface MadeFilesystem {
  /** What /etc/fstab's UUID= and blkid say: "0a1b...-..." or, for vfat, "ABCD-1234". */
  uuid: string;
  /** The image's size in bytes. */
  size: number;
}

export interface FilesystemMaker {
  name: FilesystemName;
  /** Host programs it runs. */
  tools: readonly HostTool[];
  /** Fixed-size filesystems fill the size given (ext4, vfat, btrfs, swap); erofs and squashfs make the size their content needs. */
  sized: boolean;
  /** The smallest image the tool makes. */
  minimumSize: number;
  /** Bytes the filesystem needs to hold this content, its own overhead included, before headroom. */
  neededSize(content: ContentMeasure): number;
  /** The longest label the filesystem keeps, in bytes (undefined: it keeps none, and a label is not written). */
  maxLabelBytes?: number;
  /** The UUID as fstab names it, for a UUID string given to make() (known before the filesystem is made). */
  fstabId(uuid: string): string;
  /** The filesystem has no UUID of its own (squashfs): fstab and root= name its partition by PARTUUID. */
  noUuid?: true;
  make(input: MakeFilesystemInput): Promise<MadeFilesystem>;
}
