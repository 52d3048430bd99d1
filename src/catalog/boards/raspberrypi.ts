/**
 * The Raspberry Pi boards: MBR, a FAT boot partition the boot ROM reads, firmware from the distribution's
 * packages (Debian: raspi-firmware, in the non-free-firmware component), config.txt and cmdline.txt
 * completed by kiln (src/boot/raspberrypi.ts). QEMU cannot boot them here.
 */
import { raspberryPiLayout } from './layouts.ts';
import { board } from './types.ts';

export const raspberryPi4 = board({
  name: 'raspberrypi-4',
  pretty: 'Raspberry Pi 4 and 400, 64-bit',
  architecture: 'aarch64',
  layout: raspberryPiLayout,
  firmware: 'raspberrypi',
  console: 'serial0',
});

export const raspberryPi2 = board({
  name: 'raspberrypi-2',
  pretty: 'Raspberry Pi 2, 32-bit ARMv7',
  architecture: 'armv7h',
  layout: raspberryPiLayout,
  firmware: 'raspberrypi',
  console: 'serial0',
});
