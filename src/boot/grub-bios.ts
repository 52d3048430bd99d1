/**
 * GRUB for BIOS (i386-pc): core.img made by grub-mkimage from the image's
 * own modules (grub-mkimage.ts) with the few the BIOS needs before it can
 * read a file (biosdisk, the partition map, the filesystem of /boot/grub,
 * search_fs_uuid) and a built-in config that finds /boot/grub by UUID;
 * everything else (normal, linux, serial, ...) loads from
 * /boot/grub/i386-pc. On a GPT, core.img goes into the BIOS boot partition
 * (as its prebuilt image); on an MBR, right after the MBR (a [[blob]] at
 * sector 1, the gap before the first partition). boot.img's 440 bytes of
 * code go into the MBR (a [[blob]] at 0), patched as grub-bios-setup does
 * (grub-bios-patch.ts), so the disk's first sectors are what it writes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { embeddedConfigText } from './grub-config.ts';
import { biosBootPartition, grubFsModule, grubPath } from './grub-disk.ts';
import { patchBootImage, patchCoreImage, SECTOR } from './grub-bios-patch.ts';
import { grubMkimage } from './grub-mkimage.ts';
import { copyModules, GRUB_DIRECTORY } from './grub-files.ts';
import type { BootSetup } from './types.ts';

const PLATFORM = 'i386-pc';
const MODULES = `/usr/lib/grub/${PLATFORM}`;

export type BiosTarget = { ok: true; coreSector: number; partition?: number; partitionSectors?: number } | { ok: false; why: string };

/** Whether the disk and the tree take GRUB's BIOS boot code, and where core.img goes. */
export function biosTarget(setup: Omit<BootSetup, 'kernels' | 'cmdline'>): BiosTarget {
  const { disk, machine, tree } = setup;
  if (machine !== 'x86_64' && machine !== 'i386' && machine !== 'i686') return { ok: false, why: `no BIOS boot code for ${machine}` };
  if (!disk) return { ok: false, why: 'BIOS boot code needs a disk (output.format "disk")' };
  const bios = disk.table === 'gpt' ? biosBootPartition(disk) : undefined;
  if (disk.table === 'gpt' && !bios) return { ok: false, why: 'the GPT has no BIOS boot partition for GRUB\'s core image ([[partition]] type = "bios-boot", size = "1M")' };
  if (!tree.stat(`${MODULES}/boot.img`)?.isFile()) return { ok: false, why: `the image has no ${MODULES}/boot.img (grub-pc-bin)` };
  return bios ? { ok: true, coreSector: bios.sector, partition: bios.number, ...(bios.sectors ? { partitionSectors: bios.sectors } : {}) } : { ok: true, coreSector: 1 };
}

/** The modules core.img needs to read /boot/grub. */
export function biosCoreModules(table: 'gpt' | 'mbr', fsModule: string): string[] {
  return ['biosdisk', table === 'gpt' ? 'part_gpt' : 'part_msdos', fsModule, 'search_fs_uuid'];
}

export function installBios(setup: BootSetup, target: Extract<BiosTarget, { ok: true }>, files: Map<string, Uint8Array | string>): void {
  const { tree, machine } = setup;
  const disk = setup.disk!;
  const dir = disk.piecesDirectory;
  const config = join(dir, 'grub-i386-pc-load.cfg');
  writeFileSync(config, embeddedConfigText(grubPath(disk, GRUB_DIRECTORY)));
  const built = join(dir, 'grub-i386-pc-core.img');
  grubMkimage({ tree, machine, format: PLATFORM, moduleDirectory: MODULES, prefix: GRUB_DIRECTORY, config, output: built, modules: biosCoreModules(disk.table, grubFsModule(disk, GRUB_DIRECTORY)) });
  const core = patchCoreImage(readFileSync(built), target.coreSector);
  if (target.partitionSectors !== undefined && core.length > target.partitionSectors * SECTOR) {
    throw new Error(`GRUB's core image (${core.length} bytes) does not fit the ${target.partitionSectors * SECTOR}-byte BIOS boot partition`);
  }
  const coreFile = join(dir, 'bios-core.img');
  const bootFile = join(dir, 'mbr-boot-code.img');
  writeFileSync(coreFile, core);
  writeFileSync(bootFile, patchBootImage(tree.readBytes(`${MODULES}/boot.img`), target.coreSector));
  disk.addPiece({ kind: 'blob', offset: 0, file: bootFile });
  disk.addPiece(target.partition !== undefined ? { kind: 'partition-image', number: target.partition, file: coreFile } : { kind: 'blob', offset: SECTOR, file: coreFile });
  copyModules(tree, PLATFORM, files);
  // grub-install leaves the images it set up beside the modules, too.
  files.set(`${GRUB_DIRECTORY}/${PLATFORM}/core.img`, readFileSync(built));
  files.set(`${GRUB_DIRECTORY}/${PLATFORM}/boot.img`, tree.readBytes(`${MODULES}/boot.img`));
}
