/**
 * 64-bit ARM with U-Boot as the machine's firmware: QEMU's virt machine
 * started with the host's u-boot-qemu (qemu_arm64), whose distro boot
 * reads extlinux/extlinux.conf from the disk's first bootable partition.
 * The image has no bootloader package: kiln writes the file. virt passes
 * its own device tree, so the entries have no FDT.
 */
import { ubootLayout } from './layouts.ts';
import { board } from './types.ts';

export const aarch64Uboot = board({
  name: 'aarch64-uboot',
  pretty: 'QEMU virt with U-Boot (distro boot, extlinux), 64-bit ARM',
  architecture: 'aarch64',
  layout: ubootLayout,
  firmware: 'uboot',
  console: 'ttyAMA0',
  qemu: {
    emulator: 'aarch64',
    emulatorPackage: 'qemu-system-arm',
    machine: 'virt',
    cpu: 'max',
    bios: { file: '/usr/lib/u-boot/qemu_arm64/u-boot.bin', package: 'u-boot-qemu' },
  },
});
