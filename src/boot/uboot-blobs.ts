/**
 * A board's U-Boot written raw to the disk (Rockchip: idbloader.img at
 * sector 64, u-boot.itb at sector 16384): the files come from the
 * distribution's U-Boot package installed in the image, read from the
 * built tree (never the host's) and handed to the disk output as [[blob]]
 * pieces, which the layout checks against the table, the partitions and
 * each other (src/disk/layout-blobs.ts). Before anything is downloaded,
 * checkUbootRoom refuses a first partition that starts inside the boot
 * chain's area, so a wrong layout does not wait for the whole build.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findBoard, findDistribution, type Board } from '../catalog/index.ts';
import type { Config } from '../config/index.ts';
import { GPT_FIRST_USABLE_LBA } from '../disk/gpt.ts';
import { alignUp, formatSize } from '../disk/sizes.ts';
import type { Tree } from '../tree/index.ts';
import { BuildError, UserError } from '../util/errors.ts';
import type { BootDisk } from './grub-disk.ts';

const SECTOR = 512;

/** Where the first partition starts: its offset, or (as src/disk/layout.ts places it) the alignment past the table. */
function firstPartitionStart(config: Config): number | undefined {
  const first = config['disk.partitions'][0];
  if (!first) return undefined;
  if (typeof first.offset === 'number') return first.offset;
  const headEnd = config['disk.table'] === 'gpt' ? GPT_FIRST_USABLE_LBA * SECTOR : SECTOR;
  const alignment = config['disk.alignment'];
  return alignUp(Math.max(headEnd, alignment), alignment);
}

/** Refuses a layout whose first partition (and so every partition) would start inside the board's U-Boot area. */
export function checkUbootRoom(config: Config, board: Board | undefined): void {
  const uboot = board?.uboot;
  const start = firstPartitionStart(config);
  if (!uboot || start === undefined) return;
  const end = uboot.firstPartitionSector * SECTOR;
  if (start >= end) return;
  const blobs = uboot.blobs.map((b) => `${b.file} at sector ${b.sector}`).join(', ');
  const offset = end % 1024 ** 2 === 0 ? `${end / 1024 ** 2}M` : `${end / 1024}K`;
  throw new UserError(
    `the first partition starts at ${formatSize(start)} (sector ${start / SECTOR}), inside board ${board.name}'s boot chain, which takes the sectors before ${uboot.firstPartitionSector} (${blobs})`,
    `give the first [[partition]] offset = "${offset}" or more`,
  );
}

/** The board's U-Boot files, copied from the tree into the disk's pieces; returns one line for the log, or undefined without a disk or U-Boot. */
export function addUbootBlobs(tree: Tree, board: Board | undefined, distribution: string, disk: BootDisk | undefined): string | undefined {
  const uboot = board?.uboot;
  if (!uboot || !disk) return undefined;
  const source = uboot.from[distribution];
  if (!source) throw new Error(`board ${board.name} has no U-Boot package for ${distribution} (refused when the config was loaded)`);
  mkdirSync(disk.piecesDirectory, { recursive: true });
  const placed = uboot.blobs.map((blob) => {
    const path = `${source.directory}/${blob.file}`;
    if (!tree.stat(path)?.isFile()) {
      throw new BuildError(`board ${board.name}: the image has no ${path}, which ${source.package} should have installed`, `check that this release's ${source.package} builds U-Boot for the board`);
    }
    const data = tree.readBytes(path);
    if (data.length > blob.sectors * SECTOR) {
      throw new BuildError(`board ${board.name}: ${path} is ${data.length} bytes, more than the ${blob.sectors * SECTOR} bytes the boot chain leaves it at sector ${blob.sector}`);
    }
    const file = join(disk.piecesDirectory, `uboot-${blob.file}`);
    writeFileSync(file, data);
    disk.addPiece({ kind: 'blob', offset: blob.sector * SECTOR, file });
    return `${blob.file} (${data.length} bytes) at sector ${blob.sector}`;
  });
  return `U-Boot from ${source.package} (${source.directory}): ${placed.join(', ')}`;
}

/** For --dry-run: the board's blobs as they will be written (their sizes are known only from the built tree). */
export function ubootPlanLines(config: Config): string[] {
  const board = config['board.name'] ? findBoard(config['board.name']) : undefined;
  const source = board?.uboot?.from[findDistribution(config['distribution.name'])?.name ?? config['distribution.name']];
  if (!board?.uboot || !source) return [];
  return board.uboot.blobs.map((b) => `  blob ${source.directory}/${b.file} of the image (${source.package}) at sector ${b.sector} (${formatSize(b.sector * SECTOR)})`);
}
