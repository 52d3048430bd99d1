/**
 * The bootloader settings ([boot]): which loader the output stage writes
 * into the tree and the kernel command line of its entries. They belong to
 * the output stage. Spread into SETTINGS.
 */
import { findBoard } from '../catalog/index.ts';
import { LOADER_NAMES } from '../boot/types.ts';
import { oneOf, string } from './kinds.ts';
import { optional, setting } from './setting.ts';

export const BOOT_SETTINGS = {
  'boot.loader': setting({
    kind: oneOf(['auto', 'none', ...LOADER_NAMES] as const),
    help: "Bootloader written into the image: auto (the board's: systemd-boot, else GRUB, for a UEFI board; GRUB for a BIOS board; extlinux for a U-Boot board; raspberrypi for a Raspberry Pi; when the image has what it needs), none, systemd-boot, grub, uki (Unified Kernel Images from the image's systemd-stub, started by the firmware itself), extlinux or raspberrypi",
    default: 'auto',
  }),
  'boot.cmdline': setting({
    kind: string('kernel command line arguments'),
    help: "Kernel command line of the boot entries; kiln puts root=UUID= of the root filesystem in front unless it has a root=",
    default: (ctx) => {
      const board = typeof ctx.get('board.name') === 'string' ? findBoard(ctx.get('board.name') as string) : undefined;
      return ['rw', ...(board?.console ? [`console=${board.console},${board.consoleBaud ?? 115200}`] : [])].join(' ');
    },
    defaultOrigin: "rw, and the board's serial console",
  }),
  'boot.firmware': optional({
    kind: string('a path to a UEFI firmware code file'),
    help: "kiln boot: the UEFI firmware code QEMU runs (a U-Boot board: its -bios file), instead of the board's (x86_64-uefi: /usr/share/OVMF/OVMF_CODE_4M.fd)",
  }),
  'boot.firmware-variables': optional({
    kind: string('a path to a UEFI variables template'),
    help: "kiln boot: the UEFI variables template kiln copies for each boot, instead of the board's (x86_64-uefi: /usr/share/OVMF/OVMF_VARS_4M.fd)",
  }),
} as const;
