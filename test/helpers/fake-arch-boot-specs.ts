/**
 * What the bootable variant of the fake Arch repository adds
 * (fake-arch-boot.ts): Arch's `linux` made from Debian's kernel, laid out
 * as Arch lays it out; `kiln-initcpio`, a small initramfs generator that
 * stands in for mkinitcpio (an alpm hook, as mkinitcpio's, that packs
 * busybox, the modules a QEMU virtio disk needs and an /init with GNU cpio);
 * `kiln-busybox-init`, busybox as /sbin/init, which prints a marker and
 * powers off; systemd-boot's EFI binaries (Arch ships them in systemd); and
 * cpio. No Debian tool runs at boot or in the hooks: only busybox and cpio.
 */
import type { FakeArchSpec } from './fake-arch-package.ts';
import { archVersion } from './fake-arch-specs.ts';

/** The modules the initramfs loads (with what they depend on): a virtio disk on QEMU's PCI bus and its ext4 root. crc32c: ext4's metadata checksums. */
export const INITRAMFS_MODULES = ['virtio_pci', 'virtio_blk', 'crc32c_generic', 'ext4'];
/** What of Debian's kernel modules the `linux` package ships: those, and what they depend on. */
export const KERNEL_MODULES = [...INITRAMFS_MODULES, 'virtio', 'virtio_ring', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'jbd2', 'mbcache', 'crc16'];

/** The marker the image's /sbin/init prints, with the image's host name: the test's own, so a match is this image's root. */
export const initMarker = (hostname: string): string => `kiln-busybox-init: ${hostname} is up`;

/** As mkinitcpio's 90-mkinitcpio-install.hook: a kernel's vmlinuz or the generator itself installed or upgraded. */
const HOOK = `[Trigger]
Type = Path
Operation = Install
Operation = Upgrade
Target = usr/lib/modules/*/vmlinuz
Target = usr/lib/kiln-initcpio/*

[Action]
Description = Updating linux initcpios (kiln-initcpio, the fixture's stand-in for mkinitcpio)...
When = PostTransaction
Exec = /usr/share/libalpm/scripts/kiln-initcpio
`;

/**
 * For every kernel with a pkgbase: /boot/initramfs-PKGBASE.img, where kiln's
 * boot code looks for mkinitcpio's image. Modules are found by name in the
 * kernel's tree and their depends= (modinfo section) come first; times are
 * SOURCE_DATE_EPOCH and GNU cpio --reproducible numbers the inodes (by
 * its path: busybox sh runs its own applet for a bare `cpio`), so the
 * image is the same bytes in every build.
 */
const GENERATOR = `#!/usr/bin/busybox sh
set -eu
bb=/usr/bin/busybox
. /etc/kiln-initcpio.conf
epoch=\${SOURCE_DATE_EPOCH:-0}

add() {
  local name=$1 file dep
  case " $seen " in *" $name "*) return 0 ;; esac
  file=$($bb find "$kernel/kernel" -name "$name.ko" | $bb head -n 1)
  if [ -z "$file" ]; then
    if $bb grep -q "/$name.ko$" "$kernel/modules.builtin"; then return 0; fi
    echo "kiln-initcpio: no module $name for $version" >&2
    exit 1
  fi
  for dep in $($bb strings "$file" | $bb sed -n 's/^depends=//p' | $bb tr , ' '); do add "$dep"; done
  seen="$seen $name"
  $bb cp "$file" "$work/lib/modules/$name.ko"
  echo "$name" >> "$work/lib/modules/load-order"
}

for kernel in /usr/lib/modules/*; do
  [ -f "$kernel/pkgbase" ] && [ -f "$kernel/vmlinuz" ] || continue
  version=\${kernel##*/}
  pkgbase=$($bb cat "$kernel/pkgbase")
  work=$($bb mktemp -d /tmp/kiln-initcpio.XXXXXX)
  $bb mkdir -p "$work/bin" "$work/dev" "$work/proc" "$work/sys" "$work/newroot" "$work/lib/modules"
  $bb cp /usr/bin/busybox "$work/bin/busybox"
  $bb cp /usr/lib/kiln-initcpio/init "$work/init"
  $bb chmod 755 "$work/init"
  seen=
  : > "$work/lib/modules/load-order"
  for m in $MODULES; do add "$m"; done
  $bb mkdir -p /boot
  (cd "$work" && $bb find . -exec $bb touch -h -d "@$epoch" {} + && $bb find . | LC_ALL=C $bb sort | /usr/bin/cpio --quiet -o -H newc -R 0:0 --reproducible > "/boot/initramfs-$pkgbase.img.tmp")
  $bb mv "/boot/initramfs-$pkgbase.img.tmp" "/boot/initramfs-$pkgbase.img"
  $bb rm -rf "$work"
  echo "kiln-initcpio: /boot/initramfs-$pkgbase.img for $version, modules$seen"
done
`;

/** The initramfs's /init: load the modules, find root= of the command line, mount it and switch to its /sbin/init. */
const INIT = `#!/bin/busybox sh
bb=/bin/busybox
$bb mount -t devtmpfs devtmpfs /dev
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
exec < /dev/console > /dev/console 2>&1
echo "kiln-initcpio: loading $($bb tr '\\n' ' ' < /lib/modules/load-order)"
while read -r m; do $bb insmod "/lib/modules/$m.ko" || echo "kiln-initcpio: insmod $m failed"; done < /lib/modules/load-order
root=
mode=ro
for arg in $($bb cat /proc/cmdline); do
  case $arg in root=*) root=\${arg#root=} ;; rw) mode=rw ;; esac
done
# The disk appears when virtio_blk has probed it: wait for it, at most 300 tries.
dev=
tries=0
while [ -z "$dev" ] && [ $tries -lt 300 ]; do
  dev=$($bb findfs "$root" 2> /dev/null) || { $bb sleep 0.1; tries=$((tries + 1)); }
done
if [ -z "$dev" ]; then
  echo "kiln-initcpio: root $root not found; block devices: $($bb ls /sys/class/block)"
  $bb poweroff -f
fi
echo "kiln-initcpio: mounting $dev ($root) $mode"
$bb mount -o "$mode" "$dev" /newroot || { echo "kiln-initcpio: cannot mount $dev"; $bb poweroff -f; }
$bb umount /sys
$bb umount /proc
$bb mount --move /dev /newroot/dev
exec $bb switch_root /newroot /sbin/init
`;

/** The image's /sbin/init (/usr/bin/init on merged /usr): busybox, one line with the marker, power off. */
const BUSYBOX_INIT = `#!/usr/bin/busybox sh
bb=/usr/bin/busybox
$bb mount -t proc proc /proc
root=$($bb awk '$2 == "/" { r = $1 " " $3 " " $4 } END { print r }' /proc/mounts)
echo "kiln-busybox-init: $($bb cat /etc/hostname) is up (kernel $($bb uname -r), pid $$, root $root)"
$bb sync
$bb poweroff -f
`;

export interface KernelDeb {
  /** linux-image-6.1.0-NN-amd64 */
  name: string;
  /** Debian version */
  version: string;
  /** 6.1.0-NN-amd64: the modules' directory, uname -r */
  release: string;
}

/** The packages the bootable variant adds, all to core; `debVersion` is the Debian version of each .deb. */
export function fakeArchBootSpecs(kernel: KernelDeb, debVersion: (name: string) => string): FakeArchSpec[] {
  const core = { arch: 'core', alarm: 'core' };
  const modules = `usr/lib/modules/${kernel.release}`;
  return [
    {
      name: 'linux', version: archVersion(kernel.version), arch: 'x86_64', repo: core, debs: [kernel.name], depends: ['initramfs'],
      desc: `Debian ${kernel.name} ${kernel.version} as Arch's linux: ${modules}/vmlinuz and the modules a QEMU virtio disk needs`,
      tree: { [`${modules}/pkgbase`]: { text: 'linux\n' } },
    },
    {
      name: 'kiln-initcpio', version: '1.0-1', arch: 'any', repo: core, depends: ['busybox', 'cpio'], provides: ['initramfs'], backup: ['etc/kiln-initcpio.conf'],
      desc: "A small initramfs generator standing in for mkinitcpio (busybox, a few modules, GNU cpio)",
      tree: {
        'etc/kiln-initcpio.conf': { text: `MODULES="${INITRAMFS_MODULES.join(' ')}"\n` },
        'usr/lib/kiln-initcpio/init': { text: INIT, mode: 0o755 },
        'usr/share/libalpm/hooks/90-kiln-initcpio-install.hook': { text: HOOK },
        'usr/share/libalpm/scripts/kiln-initcpio': { text: GENERATOR, mode: 0o755 },
      },
    },
    {
      name: 'kiln-busybox-init', version: '1.0-1', arch: 'any', repo: core, depends: ['busybox'],
      desc: 'busybox as /sbin/init: prints a marker with the host name and powers off',
      tree: { 'usr/bin/init': { text: BUSYBOX_INIT, mode: 0o755 } },
    },
    {
      name: 'systemd-boot-efi', version: archVersion(debVersion('systemd-boot-efi')), arch: 'x86_64', repo: core, debs: ['systemd-boot-efi'],
      desc: "systemd-boot's EFI binaries (Debian systemd-boot-efi; Arch ships them in systemd)",
    },
    { name: 'cpio', version: archVersion(debVersion('cpio')), arch: 'x86_64', repo: core, debs: ['cpio'], depends: ['glibc'], desc: 'GNU cpio (Debian cpio)' },
  ];
}
