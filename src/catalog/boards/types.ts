/** What a board is, as data: its architecture, packages, layout, firmware, console and QEMU machine. */
import type { FormatName } from '../types.ts';

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
  firmware?: 'uefi' | 'bios' | 'uboot' | 'raspberrypi';
  /** The serial console the kernel writes to (console= on its command line), such as ttyS0. */
  console?: string;
  /** How `kiln boot` starts the board in QEMU; undefined: QEMU cannot boot it. */
  qemu?: BoardQemu;
  /** U-Boot in the image, for a board whose boot ROM loads it from the disk: the Debian package, its file and the byte offset it is written at ([[blob]]). */
  uboot?: { package: string; file: string; offset: number };
  /** extlinux: the kernel needs the board's device tree from the disk (FDTDIR), as real boards do (QEMU's virt passes its own). */
  deviceTree?: boolean;
}

/** A board's QEMU machine: the system emulator, its -machine and the UEFI firmware (code read-only, variables copied). */
export interface BoardQemu {
  /** qemu-system-<this>, and the Debian package that has it. */
  emulator: string;
  emulatorPackage: string;
  machine: string;
  /** -cpu under software emulation (KVM: host); undefined: the machine's default. */
  cpu?: string;
  /** UEFI firmware as pflash: code read-only, variables copied for each boot; undefined: QEMU's own (SeaBIOS on x86) or -bios. */
  firmware?: { code: string; variables: string; package: string };
  /** Firmware QEMU loads with -bios (U-Boot, OpenSBI). */
  bios?: { file: string; package: string };
  /** What QEMU loads with -kernel after the -bios firmware (U-Boot in S-mode above OpenSBI). */
  kernel?: { file: string; package: string };
}

/** A board's disk layout, in the settings' own words (disk.table, disk.partitions items). */
export interface BoardLayout {
  table: 'gpt' | 'mbr';
  partitions: Record<string, string | boolean | string[]>[];
}

/** Checks a board literal against the type, keeping its own type. */
export const board = (b: Board): Board => b;
