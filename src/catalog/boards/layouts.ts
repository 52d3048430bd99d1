/** The disk layouts boards share, in the settings' own words (disk.table, disk.partitions items). */
import { FORMAT_FACTS } from '../../formats/facts.ts';
import type { FormatName } from '../types.ts';
import type { BoardLayout } from './types.ts';

/** UEFI machines: a GPT with an EFI system partition at /efi and an ext4 root that takes what disk.size leaves. */
export const uefiLayout = (): BoardLayout => ({
  table: 'gpt',
  partitions: [
    { type: 'esp', size: '256M', filesystem: 'vfat', contents: '/efi' },
    { type: 'root', filesystem: 'ext4', size: 'auto', grow: true },
  ],
});

/** A bootable UEFI disk: the ESP holds the loader, the kernels and their initramfs, so it is bigger than a bare ESP. */
export const bootableUefiLayout = (): BoardLayout => ({
  table: 'gpt',
  partitions: [
    { type: 'esp', size: '512M', filesystem: 'vfat', contents: '/efi' },
    { type: 'root', filesystem: 'ext4', size: 'auto', grow: true },
  ],
});

/**
 * U-Boot's distro boot: a GPT whose first partition is FAT (what every
 * U-Boot reads), marked legacy-bios-bootable (what distro boot scans
 * first), holding the tree's /boot (the kernels, their initramfs and
 * extlinux/extlinux.conf), and an ext4 root.
 */
export const ubootLayout = (): BoardLayout => ({
  table: 'gpt',
  partitions: [
    { type: 'xbootldr', size: '512M', filesystem: 'vfat', contents: '/boot', attributes: ['legacy-bios-bootable'] },
    { type: 'root', filesystem: 'ext4', size: 'auto', grow: true },
  ],
});

/**
 * The same for a board whose U-Boot is written raw before the partitions
 * (src/boot/uboot-blobs.ts): the first partition starts at `offset`, past
 * the boot chain's area. A GPT's entry array (sectors 2 to 33) ends well
 * before the first blob of such boards (Rockchip's at sector 64).
 */
export const ubootBlobsLayout =
  (offset: string) => (): BoardLayout => {
    const [boot, ...rest] = ubootLayout().partitions;
    return { table: 'gpt', partitions: [{ ...boot!, offset }, ...rest] };
  };

/**
 * Raspberry Pi: the boot ROM reads only an MBR and loads config.txt, the
 * kernel and the device trees from the first FAT partition: a bootable
 * FAT32 (LBA, 0x0c) partition, mounted where the distribution's firmware
 * packages write (Arch Linux ARM: /boot; Debian: /boot/firmware, see
 * FORMAT_FACTS), and an ext4 root.
 */
export const raspberryPiLayout = (format: FormatName): BoardLayout => ({
  table: 'mbr',
  partitions: [
    { type: '0x0c', bootable: true, size: '256M', filesystem: 'vfat', contents: FORMAT_FACTS[format].raspberryPiFirmwareDirectory },
    { type: 'root', filesystem: 'ext4', size: 'auto', grow: true },
  ],
});
