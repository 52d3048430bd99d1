/**
 * The kernels the distribution's own packages installed, and the initramfs
 * its tool made for each: Debian's linux-image-* put /boot/vmlinuz-VERSION
 * and update-initramfs makes /boot/initrd.img-VERSION; Arch's linux puts
 * /usr/lib/modules/VERSION/vmlinuz (and its pkgbase) and mkinitcpio makes
 * /boot/initramfs-PKGBASE.img; Fedora-style trees have /boot/initramfs-VERSION.img;
 * Alpine's linux-lts puts /boot/vmlinuz-FLAVOUR (lts, virt, ...) with the
 * kernel's release in /usr/share/kernel/FLAVOUR/kernel.release, and
 * mkinitfs's trigger makes /boot/initramfs-FLAVOUR.
 * Pure reads through Tree: a symlink never leads out of the root.
 */
import type { Tree } from '../tree/index.ts';

export interface Kernel {
  version: string;
  /** Paths in the image. */
  kernel: string;
  initrd?: string;
}

/** Alpine's kernel packages: /usr/share/kernel/FLAVOUR/kernel.release names the release /boot/vmlinuz-FLAVOUR is. */
function alpineRelease(tree: Tree, flavour: string): string | undefined {
  return tree.readTextIfExists(`/usr/share/kernel/${flavour}/kernel.release`)?.trim() || undefined;
}

/**
 * Every installed kernel, newest first (by version order, as sort -V). A
 * kernel is counted once: Arch's mkinitcpio copies
 * /usr/lib/modules/VERSION/vmlinuz to /boot/vmlinuz-PKGBASE, which is the
 * same kernel under its package's name, not a second one called PKGBASE.
 */
export function findKernels(tree: Tree): Kernel[] {
  const found = new Map<string, Kernel>();
  const modules = tree.isDirectory('/usr/lib/modules') ? tree.readdir('/usr/lib/modules') : [];
  const pkgbaseOf = new Map(modules.map((version) => [version, readPkgbase(tree, version)]));
  const pkgbases = new Set(pkgbaseOf.values());
  const flavourOf = new Map<string, string>();
  for (const name of tree.isDirectory('/boot') ? tree.readdir('/boot') : []) {
    const suffix = /^vmlinuz-(.+)$/.exec(name)?.[1];
    if (!suffix || pkgbases.has(suffix) || !tree.stat(`/boot/${name}`)?.isFile()) continue;
    const version = alpineRelease(tree, suffix) ?? suffix;
    flavourOf.set(version, suffix);
    found.set(version, { version, kernel: `/boot/${name}` });
  }
  for (const version of modules) {
    const kernel = `/usr/lib/modules/${version}/vmlinuz`;
    if (!found.has(version) && tree.stat(kernel)?.isFile()) found.set(version, { version, kernel });
  }
  return [...found.values()].map((k) => ({ ...k, initrd: initrdOf(tree, k.version, pkgbaseOf.get(k.version), flavourOf.get(k.version)) })).sort((a, b) => compareVersions(b.version, a.version));
}

/** The package a kernel came from, as Arch's kernel packages record it (/usr/lib/modules/VERSION/pkgbase: linux, linux-lts, ...). */
function readPkgbase(tree: Tree, version: string): string | undefined {
  return tree.readTextIfExists(`/usr/lib/modules/${version}/pkgbase`)?.trim() || undefined;
}

/** Debian's update-initramfs, dracut/Fedora, the kernel's own directory, mkinitcpio's default preset (not its -fallback image), then Alpine's mkinitfs. */
function initrdOf(tree: Tree, version: string, pkgbase: string | undefined, flavour: string | undefined): string | undefined {
  const candidates = [`/boot/initrd.img-${version}`, `/boot/initramfs-${version}.img`, `/usr/lib/modules/${version}/initrd`, ...(pkgbase ? [`/boot/initramfs-${pkgbase}.img`] : []), ...(flavour ? [`/boot/initramfs-${flavour}`] : [])];
  return candidates.find((p) => tree.stat(p)?.isFile());
}

/** Version order: runs of digits compare as numbers, the rest as text. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.match(/\d+|\D+/g) ?? [];
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    const c = nx && ny ? Number(x) - Number(y) : x < y ? -1 : x > y ? 1 : 0;
    if (c !== 0) return c;
  }
  return 0;
}
