import { bootableUefiLayout } from './layouts.ts';
import { board } from './types.ts';

export const x86_64Uefi = board({
  name: 'x86_64-uefi',
  pretty: 'UEFI PC or virtual machine (QEMU q35 with OVMF), x86-64, booted by systemd-boot',
  architecture: 'x86_64',
  layout: bootableUefiLayout,
  firmware: 'uefi',
  console: 'ttyS0',
  qemu: {
    emulator: 'x86_64',
    emulatorPackage: 'qemu-system-x86',
    machine: 'q35',
    firmware: { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', variables: '/usr/share/OVMF/OVMF_VARS_4M.fd', package: 'ovmf' },
  },
});
