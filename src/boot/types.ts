/**
 * One interface per bootloader: a loader checks that the tree has what it
 * needs and writes itself, the kernels and its configuration into the tree
 * (the ESP's directory, before the partition images are made), all without
 * root. Add GRUB or U-Boot's extlinux as one more file in src/boot/ and one
 * entry in loaders.ts.
 */
import type { Tree } from '../tree/index.ts';
import type { Kernel } from './kernels.ts';
import type { BootDisk } from './grub-disk.ts';

export const LOADER_NAMES = ['systemd-boot', 'grub', 'uki', 'extlinux', 'raspberrypi'] as const;
export type LoaderName = (typeof LOADER_NAMES)[number];

export interface BootSetup {
  tree: Tree;
  /** The kernels found in the tree, newest first (never empty). */
  kernels: Kernel[];
  /** The kernel command line, root= included. */
  cmdline: string;
  /** The machine (uname -m) the image is for. */
  machine: string;
  /** The tree directory that becomes the EFI system partition (/efi). */
  espDirectory?: string;
  /** extlinux: the tree directory of the partition U-Boot reads (its first bootable one); "/" when that is the root; and the board's device tree from the disk (below the kernel's device-tree directory, such as rockchip/rk3328-rock64.dtb). */
  bootDirectory?: string;
  deviceTree?: string;
  sourceDateEpoch: number;
  /** The disk the tree goes on, and how a loader adds raw boot code to it (GRUB for BIOS); undefined: no disk. */
  disk?: BootDisk;
}

export interface BootLoader {
  name: LoaderName;
  /** What the tree lacks for this loader (one line), or undefined when it can be installed. */
  missing(setup: Omit<BootSetup, 'kernels' | 'cmdline'>): string | undefined;
  /** The package that brings what it needs, for the hint. */
  packageHint: string;
  /** Writes the loader; returns the paths written (in the image). */
  install(setup: BootSetup): string[];
}
