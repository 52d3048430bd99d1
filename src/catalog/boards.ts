/**
 * Boards are data: the architecture a board runs and the packages it needs
 * (kernel, firmware). A board is a configuration layer above the
 * distribution's defaults and below the user's files. Its packages are named
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
}

const board = (b: Board): Board => b;

export const BOARDS = {
  'generic-x86_64': board({
    name: 'generic-x86_64',
    pretty: 'PC or virtual machine, x86-64',
    architecture: 'x86_64',
  }),
  'generic-aarch64': board({
    name: 'generic-aarch64',
    pretty: 'UEFI server or virtual machine (QEMU virt), 64-bit ARM',
    architecture: 'aarch64',
  }),
  'raspberrypi-4': board({
    name: 'raspberrypi-4',
    pretty: 'Raspberry Pi 4 and 400, 64-bit',
    architecture: 'aarch64',
  }),
  'raspberrypi-2': board({
    name: 'raspberrypi-2',
    pretty: 'Raspberry Pi 2, 32-bit ARMv7',
    architecture: 'armv7h',
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
