/**
 * What a loader that writes raw boot code (GRUB for BIOS) knows of the disk
 * before the partition images are made: the table, the partitions as
 * configured (their filesystem UUIDs follow from the seed), where the BIOS
 * boot partition starts, and a way to hand raw pieces to the disk output:
 * a [[blob]] (boot.img's code in the MBR's first 440 bytes) or a
 * partition's prebuilt image (core.img in the BIOS boot partition).
 */
import { GPT_FIRST_USABLE_LBA } from '../disk/gpt.ts';
import { alignUp } from '../disk/sizes.ts';
import type { TableKind } from '../disk/types.ts';
import { filesystemIdOf } from '../outputs/fstab.ts';
import type { DiskPartition } from '../outputs/partition-plan.ts';
import { UserError } from '../util/errors.ts';
import type { GrubPath } from './grub-config.ts';

const SECTOR = 512;
export const BIOS_BOOT_GUID = '21686148-6449-6e6f-744e-656564454649';

export type DiskPiece = { kind: 'blob'; offset: number; file: string } | { kind: 'partition-image'; number: number; file: string };

export interface BootDisk {
  table: TableKind;
  alignment: number;
  seed: string;
  partitions: readonly DiskPartition[];
  /** A host directory for the pieces' files, kept until the disk is written. */
  piecesDirectory: string;
  addPiece(piece: DiskPiece): void;
}

/** GRUB's filesystem module for each filesystem kiln makes (swap holds no files). */
const GRUB_FS_MODULES: Record<string, string> = { ext4: 'ext2', vfat: 'fat', btrfs: 'btrfs', squashfs: 'squash4', erofs: 'erofs' };

/** The partition whose filesystem holds `path` of the image (the deepest mount point above it). */
export function partitionHolding(disk: Pick<BootDisk, 'partitions'>, path: string): DiskPartition | undefined {
  const inside = (m: string) => m === '/' || path === m || path.startsWith(`${m}/`);
  return disk.partitions.filter((p) => p.mount !== undefined && inside(p.mount)).sort((a, b) => b.mount!.length - a.mount!.length)[0];
}

/** `path` of the image as GRUB finds it: its filesystem's UUID and the path inside that filesystem. */
export function grubPath(disk: Pick<BootDisk, 'partitions' | 'seed'>, path: string): GrubPath {
  const p = partitionHolding(disk, path);
  if (!p) throw new UserError(`GRUB cannot find ${path}: no partition is mounted at / or above it`, 'give the disk a root partition ([[partition]] type = "root")');
  const uuid = filesystemIdOf(disk.seed, p);
  if (!uuid) throw new UserError(`GRUB cannot find ${path}: ${p.describe} has no filesystem UUID to search for`, 'put /boot on an ext4, vfat or btrfs partition');
  const rel = p.mount === '/' ? path : path.slice(p.mount!.length) || '/';
  return { uuid, path: rel };
}

/** GRUB's module for the filesystem holding `path` (ext2 for ext4). */
export function grubFsModule(disk: Pick<BootDisk, 'partitions'>, path: string): string {
  const p = partitionHolding(disk, path);
  const module = p && GRUB_FS_MODULES[p.filesystem];
  if (!module) throw new UserError(`GRUB cannot read ${p?.describe ?? 'the partition'} that holds ${path}`, 'put /boot on an ext4, vfat or btrfs partition');
  return module;
}

const isBiosBoot = (p: DiskPartition) => p.spec.type === 'bios-boot' || p.spec.type.toLowerCase() === BIOS_BOOT_GUID;

/** The BIOS boot partition and its first sector (its offset, or where the first partition goes: past the GPT, aligned). */
export function biosBootPartition(disk: Pick<BootDisk, 'partitions' | 'alignment'>): { number: number; sector: number; sectors?: number } | undefined {
  const p = disk.partitions.find(isBiosBoot);
  if (!p) return undefined;
  let offset = p.spec.offset;
  if (offset === undefined && p.number === 1) offset = alignUp(Math.max(GPT_FIRST_USABLE_LBA * SECTOR, disk.alignment), disk.alignment);
  if (offset === undefined) throw new UserError(`${p.describe}: GRUB's core image is written for where the BIOS boot partition starts, which kiln knows only for the first partition or one with an offset`, 'make it the first [[partition]], or give it offset = "1M"');
  const size = typeof p.spec.size === 'number' ? p.spec.size : undefined;
  return { number: p.number, sector: offset / SECTOR, ...(size ? { sectors: size / SECTOR } : {}) };
}
