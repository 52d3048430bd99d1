/**
 * Boards are data: the architecture a board runs and the packages it needs
 * (kernel, firmware) in each package format. A board is a configuration
 * layer above the distribution's defaults and below the user's files.
 */
import type { FormatName } from './types.ts';

export interface Board {
  name: string;
  pretty: string;
  /** Architecture, in the spelling every distribution accepts (an alias where it names it otherwise). */
  architecture: string;
  /** Packages the board needs, per package format and per distribution where they differ. */
  packages: Partial<Record<FormatName, string[]>> & { byDistribution?: Record<string, string[]> };
}

const board = (b: Board): Board => b;

export const BOARDS = {
  'generic-x86_64': board({
    name: 'generic-x86_64',
    pretty: 'PC or virtual machine, x86-64',
    architecture: 'x86_64',
    packages: { deb: ['linux-image-amd64'], pacman: ['linux'] },
  }),
  'generic-aarch64': board({
    name: 'generic-aarch64',
    pretty: 'UEFI server or virtual machine (QEMU virt), 64-bit ARM',
    architecture: 'aarch64',
    packages: { deb: ['linux-image-arm64'], pacman: ['linux-aarch64'] },
  }),
  'raspberrypi-4': board({
    name: 'raspberrypi-4',
    pretty: 'Raspberry Pi 4 and 400, 64-bit',
    architecture: 'aarch64',
    packages: { deb: ['linux-image-arm64', 'raspi-firmware'], pacman: ['linux-rpi', 'raspberrypi-bootloader'] },
  }),
  'raspberrypi-2': board({
    name: 'raspberrypi-2',
    pretty: 'Raspberry Pi 2, 32-bit ARMv7',
    architecture: 'armv7h',
    packages: { deb: ['linux-image-armmp', 'raspi-firmware'], pacman: ['linux-rpi', 'raspberrypi-bootloader'] },
  }),
} satisfies Record<string, Board>;

export function findBoard(name: string): Board | undefined {
  return Object.values(BOARDS).find((b) => b.name === name);
}

/** What a board adds to the image for a distribution. */
export function boardPackages(b: Board, distribution: { name: string; format: FormatName }): string[] {
  return b.packages.byDistribution?.[distribution.name] ?? b.packages[distribution.format] ?? [];
}
