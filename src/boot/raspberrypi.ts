/**
 * The Raspberry Pi's own boot: its boot ROM and GPU firmware (start*.elf,
 * fixup*.dat; bootcode.bin before the Pi 4) read config.txt from the first
 * FAT partition and load the kernel, its initramfs and the board's device
 * trees from there, with cmdline.txt as the kernel command line. Debian's
 * raspi-firmware copies these from its hooks, guessing root= from what is
 * mounted where they run (in a build, not the image's root); Arch Linux
 * ARM's raspberrypi-bootloader and linux-rpi install into the partition
 * directly. kiln completes the partition's directory in the tree natively:
 * the firmware from /usr/lib/raspi-firmware when it is not there yet, the
 * newest kernel, its initramfs and the bcm*.dtb device trees when they lie
 * outside the partition, config.txt when the distribution wrote none, and
 * always cmdline.txt, with root= of the image's root filesystem.
 */
import { utimesSync } from 'node:fs';
import { posix } from 'node:path';
import { deviceTreeDirectory, onPartition } from './extlinux.ts';
import type { BootLoader, BootSetup } from './types.ts';

/** Debian's raspi-firmware keeps the firmware files here and copies them to the partition. */
const FIRMWARE_SOURCE = '/usr/lib/raspi-firmware';

/** The GPU firmware the board's generation starts (the Pi 4's is start4.elf). */
const startFile = (machine: string) => (machine === 'aarch64' ? 'start4.elf' : 'start.elf');

/** config.txt for the kernel and initramfs by name (the firmware loads the initramfs after the kernel). */
export function configTxtText(machine: string, kernel: string, initrd: string | undefined): string {
  return [
    '# Written by kiln: the Raspberry Pi firmware reads this from the FAT boot partition',
    ...(machine === 'aarch64' ? ['arm_64bit=1'] : []),
    'enable_uart=1',
    'upstream_kernel=1',
    `kernel=${kernel}`,
    ...(initrd ? [`initramfs ${initrd} followkernel`] : []),
    '',
  ].join('\n');
}

/** cmdline.txt: one line; the screen's console first and the serial console (boot.cmdline's) last, so that it is /dev/console. */
export function cmdlineTxtText(cmdline: string): string {
  return `console=tty1 ${cmdline} rootwait\n`;
}

function firmwareMissing(setup: Pick<BootSetup, 'tree' | 'machine' | 'bootDirectory'>): string | undefined {
  const dir = setup.bootDirectory ?? '/boot';
  const start = startFile(setup.machine);
  if (setup.tree.stat(`${dir}/${start}`)?.isFile() || setup.tree.stat(`${FIRMWARE_SOURCE}/${start}`)?.isFile()) return undefined;
  return `the image has no Raspberry Pi firmware (${dir}/${start} or ${FIRMWARE_SOURCE}/${start})`;
}

export const raspberryPiFirmware: BootLoader = {
  name: 'raspberrypi',
  packageHint: 'add the firmware package to packages.install (Debian: raspi-firmware, from the non-free-firmware component; Arch Linux ARM: raspberrypi-bootloader)',
  missing: firmwareMissing,
  install(setup) {
    const { tree, kernels, cmdline, machine, sourceDateEpoch } = setup;
    const dir = setup.bootDirectory ?? '/boot';
    const files = new Map<string, Uint8Array | string>();
    if (!tree.stat(`${dir}/${startFile(machine)}`)?.isFile()) {
      for (const name of tree.readdir(FIRMWARE_SOURCE)) files.set(name, tree.readBytes(`${FIRMWARE_SOURCE}/${name}`));
    }
    const k = kernels[0]!;
    const inPartition = (path: string): string => {
      const seen = onPartition(path, dir);
      if (seen) return seen.slice(1);
      files.set(posix.basename(path), tree.readBytes(path));
      return posix.basename(path);
    };
    const kernel = inPartition(k.kernel);
    const initrd = k.initrd ? inPartition(k.initrd) : undefined;
    const dtbs = deviceTreeDirectory(tree, k.version);
    for (const d of dtbs ? [dtbs, `${dtbs}/broadcom`] : []) {
      if (!tree.isDirectory(d) || onPartition(d, dir)) continue;
      for (const name of tree.readdir(d)) if (/^bcm.*\.dtb$/.test(name)) files.set(name, tree.readBytes(`${d}/${name}`));
    }
    if (!tree.stat(`${dir}/config.txt`)?.isFile()) files.set('config.txt', configTxtText(machine, kernel, initrd));
    files.set('cmdline.txt', cmdlineTxtText(cmdline));
    tree.mkdir(dir);
    for (const [name, data] of files) tree.write(`${dir}/${name}`, data, { mode: 0o644, uid: 0, gid: 0, mtime: sourceDateEpoch });
    utimesSync(tree.hostPath(dir), sourceDateEpoch, sourceDateEpoch);
    return [...files.keys()].map((name) => `${dir}/${name}`);
  },
};
