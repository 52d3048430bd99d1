/**
 * GRUB, written without root, a device or grub-install: what grub-install
 * and grub-bios-setup leave behind, made from the image's own GRUB
 * (grub-pc-bin for BIOS, grub-efi-<arch>-bin for UEFI). The disk decides
 * which: a BIOS boot partition (or an MBR table) gets the BIOS boot code
 * (grub-bios.ts), an EFI system partition the removable-media EFI binary
 * (grub-efi.ts); a disk with both boots either way. Both find
 * /boot/grub/grub.cfg by its filesystem's UUID and load the rest of
 * their modules from /boot/grub/<platform>/, copied from the tree's
 * /usr/lib/grub/<platform>/. Every file gets SOURCE_DATE_EPOCH.
 */
import { mkdirSync } from 'node:fs';
import { grubCfgText, grubEntry } from './grub-config.ts';
import { biosTarget, installBios } from './grub-bios.ts';
import { efiTarget, installEfi } from './grub-efi.ts';
import { grubPath } from './grub-disk.ts';
import { GRUB_DIRECTORY, writeTreeFiles } from './grub-files.ts';
import { imageOsRelease } from './systemd-boot.ts';
import type { BootLoader, BootSetup } from './types.ts';

type Setup = Omit<BootSetup, 'kernels' | 'cmdline'>;

export const grub: BootLoader = {
  name: 'grub',
  packageHint: 'add grub-pc-bin (BIOS) or grub-efi-amd64-bin / grub-efi-arm64-bin (UEFI) to packages.install (Debian)',
  missing(setup: Setup) {
    const bios = biosTarget(setup);
    const efi = efiTarget(setup);
    if (bios.ok || efi.ok) return undefined;
    return `GRUB has nothing to install: ${bios.why}; ${efi.why}`;
  },
  install(setup) {
    const { tree, kernels, cmdline, sourceDateEpoch } = setup;
    const disk = setup.disk!;
    mkdirSync(disk.piecesDirectory, { recursive: true });
    const os = imageOsRelease(tree);
    const files = new Map<string, Uint8Array | string>();
    const entries = kernels.map((k) => grubEntry(os.pretty, os.id, k, (path) => grubPath(disk, path)));
    files.set(`${GRUB_DIRECTORY}/grub.cfg`, grubCfgText(entries, cmdline));
    const bios = biosTarget(setup);
    const efi = efiTarget(setup);
    if (bios.ok) installBios(setup, bios, files);
    if (efi.ok) installEfi(setup, efi, files);
    return writeTreeFiles(tree, files, sourceDateEpoch);
  },
};
