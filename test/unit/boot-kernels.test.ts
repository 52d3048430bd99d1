/**
 * Kernel discovery by each distribution's conventions, with no tool of
 * theirs: Arch's mkinitcpio copies the kernel to /boot/vmlinuz-PKGBASE and
 * makes /boot/initramfs-PKGBASE.img (and a -fallback image); two Arch kernel
 * packages side by side; Fedora-style /boot/vmlinuz-VERSION next to the
 * same kernel in /usr/lib/modules; Alpine's /boot/vmlinuz-FLAVOUR with
 * mkinitfs's /boot/initramfs-FLAVOUR.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTree } from './boot-tree.ts';
import { findKernels } from '../../src/boot/kernels.ts';

function kernelsOf(files: Record<string, string>): ReturnType<typeof findKernels> {
  const f = bootTree(files);
  try {
    return findKernels(f.tree);
  } finally {
    f.done();
  }
}

test("Arch: mkinitcpio's /boot/vmlinuz-linux is the kernel of /usr/lib/modules/VERSION (pkgbase linux), not a kernel named linux", () => {
  const kernels = kernelsOf({
    '/usr/lib/modules/6.1.0-57-amd64/vmlinuz': 'k',
    '/usr/lib/modules/6.1.0-57-amd64/pkgbase': 'linux\n',
    '/boot/vmlinuz-linux': 'k',
    '/boot/initramfs-linux.img': 'i',
    '/boot/initramfs-linux-fallback.img': 'f',
  });
  assert.deepEqual(kernels, [{ version: '6.1.0-57-amd64', kernel: '/usr/lib/modules/6.1.0-57-amd64/vmlinuz', initrd: '/boot/initramfs-linux.img' }]);
});

test('Arch: linux and linux-lts side by side, each with its own initramfs, newest first', () => {
  const kernels = kernelsOf({
    '/usr/lib/modules/6.12.9-arch1-1/vmlinuz': 'k',
    '/usr/lib/modules/6.12.9-arch1-1/pkgbase': 'linux\n',
    '/usr/lib/modules/6.6.70-1-lts/vmlinuz': 'l',
    '/usr/lib/modules/6.6.70-1-lts/pkgbase': 'linux-lts\n',
    '/boot/vmlinuz-linux': 'k',
    '/boot/vmlinuz-linux-lts': 'l',
    '/boot/initramfs-linux.img': 'i',
    '/boot/initramfs-linux-lts.img': 'j',
  });
  assert.deepEqual(kernels, [
    { version: '6.12.9-arch1-1', kernel: '/usr/lib/modules/6.12.9-arch1-1/vmlinuz', initrd: '/boot/initramfs-linux.img' },
    { version: '6.6.70-1-lts', kernel: '/usr/lib/modules/6.6.70-1-lts/vmlinuz', initrd: '/boot/initramfs-linux-lts.img' },
  ]);
});

test('a kernel in /boot whose name is no pkgbase stays a kernel of its own (a user copied it there); an empty pkgbase names nothing', () => {
  const kernels = kernelsOf({
    '/usr/lib/modules/6.1.0-57-amd64/vmlinuz': 'k',
    '/usr/lib/modules/6.1.0-57-amd64/pkgbase': '\n',
    '/boot/vmlinuz-custom': 'c',
  });
  assert.deepEqual(kernels.map((k) => [k.version, k.kernel, k.initrd]), [
    ['custom', '/boot/vmlinuz-custom', undefined],
    ['6.1.0-57-amd64', '/usr/lib/modules/6.1.0-57-amd64/vmlinuz', undefined],
  ]);
});

test('Fedora: /boot/vmlinuz-VERSION and /usr/lib/modules/VERSION/vmlinuz are one kernel, with /boot/initramfs-VERSION.img', () => {
  const kernels = kernelsOf({
    '/boot/vmlinuz-6.11.4-301.fc41.x86_64': 'k',
    '/usr/lib/modules/6.11.4-301.fc41.x86_64/vmlinuz': 'k',
    '/boot/initramfs-6.11.4-301.fc41.x86_64.img': 'i',
  });
  assert.deepEqual(kernels, [{ version: '6.11.4-301.fc41.x86_64', kernel: '/boot/vmlinuz-6.11.4-301.fc41.x86_64', initrd: '/boot/initramfs-6.11.4-301.fc41.x86_64.img' }]);
});

test("Alpine: linux-lts's and linux-virt's /boot/vmlinuz-FLAVOUR are the releases in /usr/share/kernel/FLAVOUR/kernel.release, each with mkinitfs's /boot/initramfs-FLAVOUR", () => {
  const kernels = kernelsOf({
    '/boot/vmlinuz-lts': 'k',
    '/boot/initramfs-lts': 'i',
    '/usr/share/kernel/lts/kernel.release': '6.6.58-0-lts\n',
    '/lib/modules/6.6.58-0-lts/modules.dep': '',
    '/boot/vmlinuz-virt': 'k',
    '/boot/initramfs-virt': 'i',
    '/usr/share/kernel/virt/kernel.release': '6.12.1-0-virt\n',
  });
  assert.deepEqual(kernels, [
    { version: '6.12.1-0-virt', kernel: '/boot/vmlinuz-virt', initrd: '/boot/initramfs-virt' },
    { version: '6.6.58-0-lts', kernel: '/boot/vmlinuz-lts', initrd: '/boot/initramfs-lts' },
  ]);
});
