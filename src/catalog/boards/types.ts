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
  /** The console's speed in baud, when it is not 115200 (Rockchip's boot ROM and U-Boot talk at 1500000). */
  consoleBaud?: number;
  /** How `kiln boot` starts the board in QEMU; undefined: QEMU cannot boot it. */
  qemu?: BoardQemu;
  /** U-Boot written raw to the disk, for a board whose boot ROM loads it from there (src/boot/uboot-blobs.ts). */
  uboot?: BoardUboot;
  /**
   * extlinux: the kernel needs the board's device tree from the disk, as real boards do (QEMU's virt passes
   * its own): its path below the kernel's device-tree directory, such as rockchip/rk3328-rock64.dtb.
   */
  deviceTree?: string;
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

/**
 * A board's U-Boot as raw blobs: the package of each distribution that has it (installed as one of the
 * board's packages) and the directory it keeps the board's files in, and what goes at which sector. The
 * files are copied from the built tree when the disk is written, never from the host.
 */
export interface BoardUboot {
  /** By distribution name; a distribution not listed has no package with this board's U-Boot (refused in one line). */
  from: Record<string, { package: string; directory: string }>;
  /** Each file of `directory` and the sector it goes at; `sectors` is the room the boot ROM's layout leaves it. */
  blobs: { file: string; sector: number; sectors: number }[];
  /** The first sector a partition may use: the area before it is the boot chain's. */
  firstPartitionSector: number;
}
