/**
 * 64-bit RISC-V with OpenSBI and U-Boot: QEMU's virt machine starts the
 * host's OpenSBI (opensbi, the generic platform's fw_jump) in M-mode, which
 * jumps to U-Boot built for S-mode (u-boot-qemu, qemu-riscv64_smode) loaded
 * with -kernel; its distro boot reads extlinux/extlinux.conf as on
 * aarch64-uboot. Debian has riscv64 as an official architecture from trixie
 * on (bookworm has none): use release = "trixie".
 */
import { ubootLayout } from './layouts.ts';
import { board } from './types.ts';

export const riscv64Uboot = board({
  name: 'riscv64-uboot',
  pretty: 'QEMU virt with OpenSBI and U-Boot (distro boot, extlinux), 64-bit RISC-V',
  architecture: 'riscv64',
  layout: ubootLayout,
  firmware: 'uboot',
  console: 'ttyS0',
  qemu: {
    emulator: 'riscv64',
    emulatorPackage: 'qemu-system-misc',
    machine: 'virt',
    bios: { file: '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf', package: 'opensbi' },
    kernel: { file: '/usr/lib/u-boot/qemu-riscv64_smode/uboot.elf', package: 'u-boot-qemu' },
  },
});
