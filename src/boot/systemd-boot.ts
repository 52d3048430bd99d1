/**
 * systemd-boot, written as files: its EFI binary from the tree's own
 * systemd (Debian: systemd-boot-efi) copied to the removable-media path
 * EFI/BOOT/BOOT<ARCH>.EFI (what firmware with empty variables starts) and
 * to EFI/systemd/, loader/loader.conf, and one Boot Loader Specification
 * type 1 entry per kernel in loader/entries/, with the kernel and its
 * initramfs copied into the ESP under /ENTRY-TOKEN/VERSION/. No bootctl,
 * no EFI variables: nothing needs root or the host's firmware. Names are
 * fixed and every time is SOURCE_DATE_EPOCH, so the ESP is reproducible.
 */
import { utimesSync } from 'node:fs';
import type { Tree } from '../tree/index.ts';
import type { Kernel } from './kernels.ts';
import type { BootLoader, BootSetup } from './types.ts';

/** The UEFI names of the machines (BOOTX64.EFI, systemd-bootx64.efi). */
const EFI_ARCH: Record<string, string> = { x86_64: 'x64', i386: 'ia32', aarch64: 'aa64', arm: 'arm', riscv64: 'riscv64', loongarch64: 'loongarch64' };

export const efiArch = (machine: string): string | undefined => EFI_ARCH[machine];

const binaryPath = (arch: string) => `/usr/lib/systemd/boot/efi/systemd-boot${arch}.efi`;

export interface OsRelease {
  id: string;
  pretty: string;
}

/** ID and PRETTY_NAME of /etc/os-release (or /usr/lib/os-release), as the entries' token and title. */
export function imageOsRelease(tree: Tree): OsRelease {
  const text = tree.readTextIfExists('/etc/os-release') ?? tree.readTextIfExists('/usr/lib/os-release') ?? '';
  const field = (name: string) => {
    const m = new RegExp(`^${name}=(.*)$`, 'm').exec(text)?.[1]?.trim();
    return m?.replace(/^(["'])(.*)\1$/, '$2');
  };
  return { id: field('ID') ?? 'linux', pretty: field('PRETTY_NAME') ?? field('NAME') ?? 'Linux' };
}

/** The entry's file name in loader/entries/ (without .conf). */
export const entryName = (os: OsRelease, kernel: Pick<Kernel, 'version'>): string => `${os.id}-${kernel.version}`;

/** A Boot Loader Specification type 1 entry. */
export function entryText(os: OsRelease, kernel: Pick<Kernel, 'version' | 'initrd'>, cmdline: string): string {
  const dir = `/${os.id}/${kernel.version}`;
  return [
    `title ${os.pretty}`,
    `version ${kernel.version}`,
    `sort-key ${os.id}`,
    `linux ${dir}/linux`,
    ...(kernel.initrd ? [`initrd ${dir}/initrd`] : []),
    `options ${cmdline}`,
    '',
  ].join('\n');
}

/** loader.conf: the newest kernel's entry, no menu wait (a key held at start shows it), no editor. */
export function loaderConfText(defaultEntry: string): string {
  return [`default ${defaultEntry}.conf`, 'timeout 0', 'editor no', ''].join('\n');
}

export const systemdBoot: BootLoader = {
  name: 'systemd-boot',
  packageHint: 'add systemd-boot-efi (Debian) or systemd (Arch) to packages.install',
  missing({ tree, machine, espDirectory }) {
    const arch = efiArch(machine);
    if (!arch) return `systemd-boot has no EFI binary for ${machine}`;
    if (!espDirectory) return 'systemd-boot needs an EFI system partition ([[partition]] type = "esp" with contents = "/efi")';
    if (!tree.stat(binaryPath(arch))?.isFile()) return `the image has no ${binaryPath(arch)}`;
    return undefined;
  },
  install(setup) {
    const { tree, kernels, cmdline, machine, sourceDateEpoch } = setup;
    const esp = setup.espDirectory!;
    const arch = efiArch(machine)!;
    const os = imageOsRelease(tree);
    const files = new Map<string, Uint8Array | string>();
    const binary = tree.readBytes(binaryPath(arch));
    files.set(`EFI/BOOT/BOOT${arch.toUpperCase()}.EFI`, binary);
    files.set(`EFI/systemd/systemd-boot${arch}.efi`, binary);
    files.set('loader/loader.conf', loaderConfText(entryName(os, kernels[0]!)));
    for (const k of kernels) {
      files.set(`loader/entries/${entryName(os, k)}.conf`, entryText(os, k, cmdline));
      files.set(`${os.id}/${k.version}/linux`, tree.readBytes(k.kernel));
      if (k.initrd) files.set(`${os.id}/${k.version}/initrd`, tree.readBytes(k.initrd));
    }
    const made: string[] = [];
    for (const [rel, data] of files) {
      const path = `${esp}/${rel}`;
      tree.mkdir(path.slice(0, path.lastIndexOf('/')), { onCreate: (d) => made.push(d) });
      tree.write(path, data, { mode: 0o644, uid: 0, gid: 0, mtime: sourceDateEpoch });
    }
    // The directories made here, and the ESP's own (its entries changed), get the build's time too.
    for (const dir of [...made, esp]) utimesSync(tree.hostPath(dir), sourceDateEpoch, sourceDateEpoch);
    for (const dir of new Set([...files.keys()].map((rel) => `${esp}/${rel.slice(0, rel.lastIndexOf('/'))}`))) utimesSync(tree.hostPath(dir), sourceDateEpoch, sourceDateEpoch);
    return [...files.keys()].map((rel) => `${esp}/${rel}`);
  },
};
