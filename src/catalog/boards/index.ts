/**
 * Boards are data: the architecture a board runs, the packages it needs
 * (kernel, firmware) and its disk layout. A board is a configuration layer
 * above the distribution's defaults and below the user's files (so a
 * user's disk.partitions replaces its layout, or edits it with add/remove). Its packages are named
 * per package format in the format facts (src/formats/facts.ts), so a new
 * board or a new format does not compile until each format names them.
 */
import { FORMAT_FACTS } from '../../formats/facts.ts';
import type { FormatName } from '../types.ts';
import type { Board } from './types.ts';
import { genericAarch64, genericX86_64 } from './generic.ts';
import { raspberryPi2, raspberryPi4 } from './raspberrypi.ts';
import { x86_64Uefi } from './x86_64-uefi.ts';
import { x86_64Bios } from './x86_64-bios.ts';
import { aarch64Uefi } from './aarch64-uefi.ts';
import { aarch64Uboot } from './aarch64-uboot.ts';
import { riscv64Uboot } from './riscv64-uboot.ts';
import { rock64Rk3328 } from './rockchip.ts';

/** The boards, one file each (or a family per file): adding a board is a file and a line here. */
export const BOARDS = {
  'x86_64-uefi': x86_64Uefi,
  'x86_64-bios': x86_64Bios,
  'generic-x86_64': genericX86_64,
  'generic-aarch64': genericAarch64,
  'aarch64-uefi': aarch64Uefi,
  'aarch64-uboot': aarch64Uboot,
  'riscv64-uboot': riscv64Uboot,
  'raspberrypi-4': raspberryPi4,
  'raspberrypi-2': raspberryPi2,
  'rock64-rk3328': rock64Rk3328,
} satisfies Record<string, Board>;

export function findBoard(name: string): Board | undefined {
  return Object.values(BOARDS).find((b) => b.name === name);
}

/** What a board adds to the image for a distribution: its packages, then the one with its U-Boot. */
export function boardPackages(b: Board, distribution: { name: string; format: FormatName }): string[] {
  const byBoard: Readonly<Record<string, readonly string[]>> = FORMAT_FACTS[distribution.format].boardPackages;
  const uboot = b.uboot?.from[distribution.name]?.package;
  return [...(b.packagesByDistribution?.[distribution.name] ?? byBoard[b.name] ?? []), ...(uboot ? [uboot] : [])];
}

export type BoardName = keyof typeof BOARDS;

export type { Board, BoardLayout, BoardQemu, BoardUboot } from './types.ts';
