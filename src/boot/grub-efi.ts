/**
 * GRUB for UEFI: one EFI binary made by grub-mkimage from the image's own
 * modules (grub-efi-amd64-bin, grub-efi-arm64-bin, grub-efi-riscv64-bin),
 * holding the partition map, the filesystem of /boot/grub, search_fs_uuid
 * and a built-in config that finds /boot/grub by UUID, put at the
 * removable-media path EFI/BOOT/BOOT<ARCH>.EFI of the ESP, which firmware
 * with empty variables starts. The kernels stay in /boot: GRUB reads them
 * there. The rest of the modules load from /boot/grub/<target>/.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { embeddedConfigText } from './grub-config.ts';
import { grubFsModule, grubPath } from './grub-disk.ts';
import { copyModules, GRUB_DIRECTORY } from './grub-files.ts';
import { grubMkimage } from './grub-mkimage.ts';
import type { BootSetup } from './types.ts';

/** grub-mkimage's EFI target and the removable-media binary's name, per machine. */
const EFI_TARGETS: Record<string, { format: string; binary: string }> = {
  x86_64: { format: 'x86_64-efi', binary: 'BOOTX64.EFI' },
  i386: { format: 'i386-efi', binary: 'BOOTIA32.EFI' },
  aarch64: { format: 'arm64-efi', binary: 'BOOTAA64.EFI' },
  riscv64: { format: 'riscv64-efi', binary: 'BOOTRISCV64.EFI' },
  loongarch64: { format: 'loongarch64-efi', binary: 'BOOTLOONGARCH64.EFI' },
};

export const grubEfiTarget = (machine: string): { format: string; binary: string } | undefined => EFI_TARGETS[machine];

export type EfiTarget = { ok: true; format: string; binary: string } | { ok: false; why: string };

export function efiTarget(setup: Omit<BootSetup, 'kernels' | 'cmdline'>): EfiTarget {
  const target = EFI_TARGETS[setup.machine];
  if (!target) return { ok: false, why: `no GRUB EFI target for ${setup.machine}` };
  if (!setup.espDirectory) return { ok: false, why: 'no EFI system partition for GRUB\'s EFI binary ([[partition]] type = "esp")' };
  if (!setup.disk) return { ok: false, why: 'GRUB for UEFI needs a disk (output.format "disk")' };
  if (!setup.tree.stat(`/usr/lib/grub/${target.format}/kernel.img`)?.isFile()) return { ok: false, why: `the image has no /usr/lib/grub/${target.format} (Debian: grub-efi-${target.format.replace(/-efi$/, '').replace('x86_64', 'amd64')}-bin)` };
  return { ok: true, ...target };
}

/** The modules the EFI binary needs to read /boot/grub (the firmware gives GRUB its disks). */
export const efiCoreModules = (fsModule: string): string[] => ['part_gpt', 'part_msdos', fsModule, 'search_fs_uuid'];

export function installEfi(setup: BootSetup, target: Extract<EfiTarget, { ok: true }>, files: Map<string, Uint8Array | string>): void {
  const { tree, machine } = setup;
  const disk = setup.disk!;
  const config = join(disk.piecesDirectory, `grub-${target.format}-load.cfg`);
  writeFileSync(config, embeddedConfigText(grubPath(disk, GRUB_DIRECTORY)));
  const output = join(disk.piecesDirectory, target.binary);
  grubMkimage({ tree, machine, format: target.format, moduleDirectory: `/usr/lib/grub/${target.format}`, prefix: GRUB_DIRECTORY, config, output, modules: efiCoreModules(grubFsModule(disk, GRUB_DIRECTORY)) });
  files.set(`${setup.espDirectory}/EFI/BOOT/${target.binary}`, readFileSync(output));
  copyModules(tree, target.format, files);
}
