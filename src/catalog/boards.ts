/**
 * Boards are data: the architecture a board runs, the packages it needs
 * (kernel, firmware) and its disk layout. A board is a configuration layer
 * above the distribution's defaults and below the user's files (so a
 * user's disk.partitions replaces its layout, or edits it with add/remove). Its packages are named
 * per package format in the format facts (src/formats/facts.ts), so a new
 * board or a new format does not compile until each format names them.
 */
import { FORMAT_FACTS } from '../formats/facts.ts';
import type { FormatName } from './types.ts';

export interface Board {
  name: string;
  pretty: string;
  /** Architecture, in the spelling every distribution accepts (an alias where it names it otherwise). */
  architecture: string;
  /** Packages the board needs in a distribution whose names differ from its format's (FORMAT_FACTS boardPackages). */
  packagesByDistribution?: Record<string, string[]>;
  /** The default disk layout: the table and [[partition]] tables as a kiln.toml writes them (by package format where they differ). */
  layout: (format: FormatName) => BoardLayout;
  /** What the board's firmware starts, which picks boot.loader = "auto"'s loader (src/boot/loaders.ts); undefined: none kiln writes. */
  firmware?: 'uefi';
  /** The serial console the kernel writes to (console= on its command line), such as ttyS0. */
  console?: string;
  /** How `kiln boot` starts the board in QEMU; undefined: QEMU cannot boot it. */
  qemu?: BoardQemu;
}

/** A board's QEMU machine: the system emulator, its -machine and the UEFI firmware (code read-only, variables copied). */
export interface BoardQemu {
  /** qemu-system-<this>, and the Debian package that has it. */
  emulator: string;
  emulatorPackage: string;
  machine: string;
  firmware: { code: string; variables: string; package: string };
}

/** A board's disk layout, in the settings' own words (disk.table, disk.partitions items). */
export interface BoardLayout {
  table: 'gpt' | 'mbr';
  partitions: Record<string, string | boolean>[];
}

const board = (b: Board): Board => b;

/** UEFI machines: a GPT with an EFI system partition at /efi and an ext4 root that takes what disk.size leaves. */
const uefiLayout = (): BoardLayout => ({
  table: 'gpt',
  partitions: [
    { type: 'esp', size: '256M', filesystem: 'vfat', contents: '/efi' },
    { type: 'root', filesystem: 'ext4', size: 'auto', grow: true },
  ],
});

/** A bootable UEFI disk: the ESP holds systemd-boot, the kernels and their initramfs, so it is bigger than a bare ESP. */
const bootableUefiLayout = (): BoardLayout => ({
  table: 'gpt',
  partitions: [
    { type: 'esp', size: '512M', filesystem: 'vfat', contents: '/efi' },
    { type: 'root', filesystem: 'ext4', size: 'auto', grow: true },
  ],
});

/**
 * Raspberry Pi: the boot ROM reads only an MBR and loads config.txt, the
 * kernel and the device trees from the first FAT partition: a bootable
 * FAT32 (LBA, 0x0c) partition, mounted where the distribution's firmware
 * packages write (Arch Linux ARM: /boot; Debian: /boot/firmware, see
 * FORMAT_FACTS), and an ext4 root.
 */
const raspberryPiLayout = (format: FormatName): BoardLayout => ({
  table: 'mbr',
  partitions: [
    { type: '0x0c', bootable: true, size: '256M', filesystem: 'vfat', contents: FORMAT_FACTS[format].raspberryPiFirmwareDirectory },
    { type: 'root', filesystem: 'ext4', size: 'auto', grow: true },
  ],
});

export const BOARDS = {
  'x86_64-uefi': board({
    name: 'x86_64-uefi',
    pretty: 'UEFI PC or virtual machine (QEMU q35 with OVMF), x86-64, booted by systemd-boot',
    architecture: 'x86_64',
    layout: bootableUefiLayout,
    firmware: 'uefi',
    console: 'ttyS0',
    qemu: {
      emulator: 'x86_64',
      emulatorPackage: 'qemu-system-x86',
      machine: 'q35',
      firmware: { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', variables: '/usr/share/OVMF/OVMF_VARS_4M.fd', package: 'ovmf' },
    },
  }),
  'generic-x86_64': board({
    name: 'generic-x86_64',
    pretty: 'PC or virtual machine, x86-64',
    architecture: 'x86_64',
    layout: uefiLayout,
  }),
  'generic-aarch64': board({
    name: 'generic-aarch64',
    pretty: 'UEFI server or virtual machine (QEMU virt), 64-bit ARM',
    architecture: 'aarch64',
    layout: uefiLayout,
  }),
  'raspberrypi-4': board({
    name: 'raspberrypi-4',
    pretty: 'Raspberry Pi 4 and 400, 64-bit',
    architecture: 'aarch64',
    layout: raspberryPiLayout,
  }),
  'raspberrypi-2': board({
    name: 'raspberrypi-2',
    pretty: 'Raspberry Pi 2, 32-bit ARMv7',
    architecture: 'armv7h',
    layout: raspberryPiLayout,
  }),
} satisfies Record<string, Board>;

export function findBoard(name: string): Board | undefined {
  return Object.values(BOARDS).find((b) => b.name === name);
}

/** What a board adds to the image for a distribution. */
export function boardPackages(b: Board, distribution: { name: string; format: FormatName }): string[] {
  const byBoard: Readonly<Record<string, readonly string[]>> = FORMAT_FACTS[distribution.format].boardPackages;
  return [...(b.packagesByDistribution?.[distribution.name] ?? byBoard[b.name] ?? [])];
}

export type BoardName = keyof typeof BOARDS;
