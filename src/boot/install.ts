/**
 * The output stage's boot step: before the partition images are made, the
 * chosen bootloader (boot.loader) writes itself, every installed kernel and
 * its initramfs into the ESP's directory of the tree, with root= of the
 * root filesystem (known from the seed before anything is made) on the
 * kernel command line.
 */
import { relative } from 'node:path';
import type { Config } from '../config/index.ts';
import { findBoard, findDistribution } from '../catalog/index.ts';
import { rootIdentifiers } from '../outputs/fstab.ts';
import { diskPartitions } from '../outputs/partition-plan.ts';
import { Tree } from '../tree/index.ts';
import { UserError } from '../util/errors.ts';
import type { Emit } from '../util/events.ts';
import type { BootDisk, DiskPiece } from './grub-disk.ts';
import { findKernels } from './kernels.ts';
import { chooseLoader } from './loaders.ts';
import { addUbootBlobs } from './uboot-blobs.ts';
import { ubootDirectory } from './uboot-partition.ts';

/** The kernel command line: boot.cmdline with root= put in front when it has none. */
export function kernelCmdline(cmdline: string, root: { filesystemUuid?: string; partUuid?: string } | undefined): string {
  if (/(^|\s)root=/.test(cmdline) || !root) return cmdline.trim();
  const spec = root.filesystemUuid ? `UUID=${root.filesystemUuid}` : root.partUuid ? `PARTUUID=${root.partUuid}` : undefined;
  return spec ? `root=${spec} ${cmdline}`.trim() : cmdline.trim();
}

/** The tree directory of the EFI system partition ([[partition]] type "esp" with contents). */
export function espDirectory(config: Config): string | undefined {
  return config['disk.partitions'].find((p) => String(p.type).toLowerCase() === 'esp' && typeof p.contents === 'string')?.contents as string | undefined;
}

/** The disk as the loaders see it; the raw pieces they add are collected in `pieces`. */
function bootDisk(config: Config, piecesDirectory: string, pieces: DiskPiece[]): BootDisk | undefined {
  if (config['disk.partitions'].length === 0) return undefined;
  const disk = { table: config['disk.table'], alignment: config['disk.alignment'], seed: config['build.seed'], partitions: diskPartitions(config, '/'), piecesDirectory };
  return { ...disk, addPiece: (piece) => void pieces.push(piece) };
}

/**
 * The config the disk outputs carry out: the loader's raw pieces as [[blob]]
 * tables and partition images, named relative to the image directory as a
 * user's would be (layout.json and the manifest show the name).
 */
export function withDiskPieces(config: Config, pieces: readonly DiskPiece[], imageDir: string): Config {
  if (pieces.length === 0) return config;
  const name = (file: string) => relative(imageDir, file);
  const blobs = pieces.flatMap((p) => (p.kind === 'blob' ? [{ file: name(p.file), offset: p.offset }] : []));
  const images = new Map(pieces.flatMap((p) => (p.kind === 'partition-image' ? [[p.number, name(p.file)] as const] : [])));
  return {
    ...config,
    'disk.blobs': [...config['disk.blobs'], ...blobs],
    'disk.partitions': config['disk.partitions'].map((p, i) => (images.has(i + 1) ? { ...p, image: images.get(i + 1)! } : p)),
  };
}

/**
 * Writes the loader into the tree; returns the config the outputs are
 * written with (the same, or with the loader's raw boot code added, whose
 * files are in `piecesDirectory` until the disk is written).
 */
export function installBoot(root: string, config: Config, machine: string, sourceDateEpoch: number, emit: Emit, piecesDirectory: string, imageDir: string): Config {
  const tree = new Tree(root);
  const board = config['board.name'] ? findBoard(config['board.name']) : undefined;
  const pieces: DiskPiece[] = [];
  const disk = bootDisk(config, piecesDirectory, pieces);
  const base = { tree, machine, espDirectory: espDirectory(config), bootDirectory: ubootDirectory(config), ...(board?.deviceTree ? { deviceTree: board.deviceTree } : {}), sourceDateEpoch, ...(disk ? { disk } : {}) };
  const log = (message: string) => emit({ kind: 'log', level: 'info', source: 'boot', message });
  // The board's own U-Boot goes on the disk whatever loader (or none) writes the files it reads.
  const uboot = addUbootBlobs(tree, board, findDistribution(config['distribution.name'])?.name ?? config['distribution.name'], disk);
  if (uboot) log(uboot);
  const ubootPieces = pieces.length;
  const choice = chooseLoader(config['boot.loader'], board, base);
  if (!choice.loader) {
    if (config['boot.loader'] === 'auto' && board?.firmware) log(`no bootloader written: ${choice.why}`);
    return withDiskPieces(config, pieces, imageDir);
  }
  const loader = choice.loader;
  const missing = loader.missing(base);
  if (missing) throw new UserError(`boot.loader = "${loader.name}": ${missing}`, loader.packageHint);
  const kernels = findKernels(tree);
  if (kernels.length === 0) throw new UserError(`boot.loader = "${loader.name}": the image has no kernel (/boot/vmlinuz-* or /usr/lib/modules/*/vmlinuz)`, "add the distribution's kernel package (Debian: linux-image-amd64) to packages.install, or choose a board that brings one");
  const cmdline = kernelCmdline(config['boot.cmdline'], rootIdentifiers(config));
  const written = loader.install({ ...base, kernels, cmdline });
  const raw = pieces.slice(ubootPieces).map((p) => (p.kind === 'blob' ? `boot code at byte ${p.offset}` : `core image in partition ${p.number}`));
  log(`${loader.name}: ${kernels.map((k) => k.version + (k.initrd ? '' : ' (no initramfs)')).join(', ')}; options ${cmdline}; ${written.length} files in ${commonDirectory(written)}${raw.length ? `; ${raw.join(', ')}` : ''}`);
  return withDiskPieces(config, pieces, imageDir);
}

/** The deepest directory that holds every path (for the log line). */
function commonDirectory(paths: string[]): string {
  const split = paths.map((p) => p.split('/').slice(0, -1));
  const first = split[0] ?? [''];
  let n = 0;
  while (n < first.length && split.every((s) => s[n] === first[n])) n++;
  return first.slice(0, n).join('/') || '/';
}
