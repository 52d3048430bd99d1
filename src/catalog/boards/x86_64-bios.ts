import { board, type BoardLayout } from './types.ts';

/** A BIOS PC: a GPT with GRUB's 1 MiB BIOS boot partition first (core.img; boot.img is in the MBR) and an ext4 root holding /boot. */
export const x86_64Bios = board({
  name: 'x86_64-bios',
  pretty: 'BIOS PC or virtual machine (QEMU q35 with SeaBIOS), x86-64, booted by GRUB',
  architecture: 'x86_64',
  layout: (): BoardLayout => ({
    table: 'gpt',
    partitions: [
      { type: 'bios-boot', size: '1M', offset: '1M' },
      { type: 'root', filesystem: 'ext4', size: 'auto', grow: true },
    ],
  }),
  firmware: 'bios',
  console: 'ttyS0',
  qemu: { emulator: 'x86_64', emulatorPackage: 'qemu-system-x86', machine: 'q35' },
});
