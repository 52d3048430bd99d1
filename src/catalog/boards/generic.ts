/** Boards without a bootloader kiln writes: a disk layout for a machine of the architecture. */
import { uefiLayout } from './layouts.ts';
import { board } from './types.ts';

export const genericX86_64 = board({
  name: 'generic-x86_64',
  pretty: 'PC or virtual machine, x86-64',
  architecture: 'x86_64',
  layout: uefiLayout,
});

export const genericAarch64 = board({
  name: 'generic-aarch64',
  pretty: 'UEFI server or virtual machine (QEMU virt), 64-bit ARM',
  architecture: 'aarch64',
  layout: uefiLayout,
});
