/**
 * U-Boot's distro boot, written as one file: U-Boot scans the disk's first
 * bootable partition (MBR boot flag, GPT legacy-bios-bootable; partition 1
 * when none is) for /extlinux/extlinux.conf and /boot/extlinux/extlinux.conf
 * and boots its DEFAULT label. kiln writes extlinux/extlinux.conf into the
 * tree directory of that partition with one LABEL per kernel, newest first
 * and default, the kernel command line in APPEND, and FDT when the board
 * needs its device tree from the disk (QEMU's virt passes its own): the
 * kernel's own build of it (Debian: /usr/lib/linux-image-VERSION/rockchip/
 * rk3328-rock64.dtb). A kernel, initramfs or device tree that lies inside
 * the partition's directory is named where it is (Debian:
 * /boot/vmlinuz-VERSION); one outside it (Arch: /usr/lib/modules/VERSION/vmlinuz,
 * Debian's device trees) is copied in under /ID/VERSION/. No bootloader package: U-Boot is the
 * machine's firmware (or a [[blob]] the board writes). Every time is
 * SOURCE_DATE_EPOCH.
 */
import { utimesSync } from 'node:fs';
import { posix } from 'node:path';
import { BuildError } from '../util/errors.ts';
import type { Kernel } from './kernels.ts';
import { imageOsRelease, type OsRelease } from './systemd-boot.ts';
import type { BootLoader, BootSetup } from './types.ts';

export interface ExtlinuxEntry {
  label: string;
  title: string;
  /** Paths as U-Boot reads them: from the partition's root. */
  linux: string;
  initrd?: string;
  fdt?: string;
  fdtdir?: string;
  append: string;
}

/** extlinux.conf: the first entry is the default, booted at once (no prompt; a key in the first second shows the menu). */
export function extlinuxConfText(entries: ExtlinuxEntry[]): string {
  const lines = ['# Written by kiln: U-Boot distro boot (extlinux)', `DEFAULT ${entries[0]!.label}`, 'MENU TITLE Boot menu', 'PROMPT 0', 'TIMEOUT 10'];
  for (const e of entries) {
    lines.push('', `LABEL ${e.label}`, `  MENU LABEL ${e.title}`, `  LINUX ${e.linux}`);
    if (e.initrd) lines.push(`  INITRD ${e.initrd}`);
    if (e.fdt) lines.push(`  FDT ${e.fdt}`);
    if (e.fdtdir) lines.push(`  FDTDIR ${e.fdtdir}`);
    lines.push(`  APPEND ${e.append}`);
  }
  return lines.join('\n') + '\n';
}

/** The path of `path` (in the image) as U-Boot sees it on the partition whose contents are `partitionDir`, or undefined when it lies outside it. */
export function onPartition(path: string, partitionDir: string): string | undefined {
  const dir = partitionDir === '/' ? '' : partitionDir.replace(/\/+$/, '');
  if (dir === '') return path;
  return path.startsWith(`${dir}/`) ? path.slice(dir.length) : undefined;
}

/** Where the kernels' device trees are in the image (Debian: /usr/lib/linux-image-VERSION; Arch Linux ARM: /boot/dtbs). */
export function deviceTreeDirectory(tree: BootSetup['tree'], version: string): string | undefined {
  return [`/usr/lib/linux-image-${version}`, `/boot/dtbs/${version}`, '/boot/dtbs'].find((d) => tree.isDirectory(d));
}

/** The board's device tree `name` as the kernel `version` built it; a kernel without it cannot boot the board. */
export function deviceTreeFile(tree: BootSetup['tree'], version: string, name: string): string {
  const dir = deviceTreeDirectory(tree, version);
  const path = dir && `${dir}/${name}`;
  if (!path || !tree.stat(path)?.isFile()) throw new BuildError(`Linux ${version} has no device tree ${name} (looked in ${dir ?? '/usr/lib/linux-image-VERSION and /boot/dtbs'}), which the board needs`, 'install a kernel built for the board (Debian: linux-image-arm64)');
  return path;
}

const label = (os: OsRelease, k: Pick<Kernel, 'version'>) => `${os.id}-${k.version}`;

export const extlinux: BootLoader = {
  name: 'extlinux',
  packageHint: 'give the U-Boot partition contents ([[partition]] with bootable = true or attributes = ["legacy-bios-bootable"])',
  missing() {
    // Nothing from the image: U-Boot is the machine's firmware, and the file is text.
    return undefined;
  },
  install(setup) {
    const { tree, kernels, cmdline, sourceDateEpoch } = setup;
    const dir = setup.bootDirectory ?? '/';
    const os = imageOsRelease(tree);
    const files = new Map<string, Uint8Array | string>();
    const entries = kernels.map((k): ExtlinuxEntry => {
      const place = (path: string, name: string): string => {
        const seen = onPartition(path, dir);
        if (seen) return seen;
        const copy = `/${os.id}/${k.version}/${name}`;
        files.set(copy, tree.readBytes(path));
        return copy;
      };
      const fdt = setup.deviceTree ? deviceTreeFile(tree, k.version, setup.deviceTree) : undefined;
      return {
        label: label(os, k),
        title: `${os.pretty}, Linux ${k.version}`,
        linux: place(k.kernel, 'linux'),
        ...(k.initrd ? { initrd: place(k.initrd, 'initrd') } : {}),
        ...(fdt ? { fdt: place(fdt, posix.basename(fdt)) } : {}),
        append: cmdline,
      };
    });
    files.set('/extlinux/extlinux.conf', extlinuxConfText(entries));
    const made: string[] = [];
    const base = dir === '/' ? '' : dir;
    for (const [rel, data] of files) {
      const path = `${base}${rel}`;
      tree.mkdir(posix.dirname(path), { onCreate: (d) => made.push(d) });
      tree.write(path, data, { mode: 0o644, uid: 0, gid: 0, mtime: sourceDateEpoch });
    }
    for (const d of new Set([...made, ...[...files.keys()].map((rel) => posix.dirname(`${base}${rel}`))])) utimesSync(tree.hostPath(d), sourceDateEpoch, sourceDateEpoch);
    return [...files.keys()].map((rel) => `${base}${rel}`);
  },
};
