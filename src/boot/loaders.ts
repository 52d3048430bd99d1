/**
 * The bootloaders by name, and what boot.loader = "auto" picks: the
 * loader of the board's firmware when the tree has what it needs (a UEFI
 * board: systemd-boot), else none.
 */
import type { Board } from '../catalog/index.ts';
import { systemdBoot } from './systemd-boot.ts';
import { grub } from './grub-loader.ts';
import { uki } from './uki.ts';
import { extlinux } from './extlinux.ts';
import { raspberryPiFirmware } from './raspberrypi.ts';
import type { BootLoader, BootSetup, LoaderName } from './types.ts';

export const LOADERS: Record<LoaderName, BootLoader> = {
  'systemd-boot': systemdBoot,
  grub,
  uki,
  extlinux,
  raspberrypi: raspberryPiFirmware,
};

/** What each kind of board firmware starts, in order of preference. */
const BY_FIRMWARE: Record<NonNullable<Board['firmware']>, LoaderName[]> = {
  uefi: ['systemd-boot', 'grub'],
  bios: ['grub'],
  uboot: ['extlinux'],
  raspberrypi: ['raspberrypi'],
};

export type LoaderChoice = { loader: BootLoader } | { loader: undefined; why: string };

/** The loader for boot.loader `setting` ("auto", "none" or a name); an explicit name is returned even when the tree lacks it (install says so). */
export function chooseLoader(setting: string, board: Board | undefined, setup: Omit<BootSetup, 'kernels' | 'cmdline'>): LoaderChoice {
  if (setting === 'none') return { loader: undefined, why: 'boot.loader = "none"' };
  if (setting !== 'auto') return { loader: LOADERS[setting as LoaderName] };
  if (!board?.firmware) return { loader: undefined, why: board ? `board ${board.name} has no bootloader kiln writes` : 'no board.name' };
  for (const name of BY_FIRMWARE[board.firmware]) {
    if (!LOADERS[name].missing(setup)) return { loader: LOADERS[name] };
  }
  return { loader: undefined, why: `${BY_FIRMWARE[board.firmware].map((n) => LOADERS[n].missing(setup)).join('; ')}` };
}
