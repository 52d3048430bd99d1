/**
 * 64-bit ARM with UEFI: QEMU's virt machine with AAVMF (EDK II for ARM, the
 * host's qemu-efi-aarch64; both files are the 64 MiB QEMU's pflash wants),
 * the PL011 serial console ttyAMA0, booted by systemd-boot from the ESP as
 * on x86_64-uefi. The same image suits UEFI ARM servers.
 */
import { bootableUefiLayout } from './layouts.ts';
import { board } from './types.ts';

export const aarch64Uefi = board({
  name: 'aarch64-uefi',
  pretty: 'UEFI ARM server or virtual machine (QEMU virt with AAVMF), 64-bit ARM, booted by systemd-boot',
  architecture: 'aarch64',
  layout: bootableUefiLayout,
  firmware: 'uefi',
  console: 'ttyAMA0',
  qemu: {
    emulator: 'aarch64',
    emulatorPackage: 'qemu-system-arm',
    machine: 'virt',
    cpu: 'max',
    firmware: { code: '/usr/share/AAVMF/AAVMF_CODE.fd', variables: '/usr/share/AAVMF/AAVMF_VARS.fd', package: 'qemu-efi-aarch64' },
  },
});
