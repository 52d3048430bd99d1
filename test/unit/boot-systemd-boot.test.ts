import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { bootTree as fixture } from './boot-tree.ts';
import { compareVersions, findKernels } from '../../src/boot/kernels.ts';
import { entryText, imageOsRelease, loaderConfText, systemdBoot } from '../../src/boot/systemd-boot.ts';
import { kernelCmdline } from '../../src/boot/install.ts';
import { chooseLoader } from '../../src/boot/loaders.ts';
import { BOARDS } from '../../src/catalog/index.ts';

test('a BLS entry names the kernel and initramfs under /ID/VERSION/ and carries the options', () => {
  const text = entryText({ id: 'debian', pretty: 'Debian GNU/Linux 12 (bookworm)' }, { version: '6.1.0-50-amd64', initrd: '/boot/initrd.img-6.1.0-50-amd64' }, 'root=UUID=abc rw console=ttyS0,115200');
  assert.equal(text, 'title Debian GNU/Linux 12 (bookworm)\nversion 6.1.0-50-amd64\nsort-key debian\nlinux /debian/6.1.0-50-amd64/linux\ninitrd /debian/6.1.0-50-amd64/initrd\noptions root=UUID=abc rw console=ttyS0,115200\n');
  assert.doesNotMatch(entryText({ id: 'arch', pretty: 'Arch Linux' }, { version: '6.9' }, 'rw'), /initrd/);
  assert.equal(loaderConfText('debian-6.1.0-50-amd64'), 'default debian-6.1.0-50-amd64.conf\ntimeout 0\neditor no\n');
});

test('kernel discovery: Debian /boot pairs, Arch /usr/lib/modules with pkgbase, newest first', () => {
  const f = fixture({
    '/boot/vmlinuz-6.1.0-9-amd64': 'k9',
    '/boot/initrd.img-6.1.0-9-amd64': 'i9',
    '/boot/vmlinuz-6.1.0-10-amd64': 'k10',
    '/boot/config-6.1.0-10-amd64': '',
    '/usr/lib/modules/6.9.1-arch1-1/vmlinuz': 'ka',
    '/usr/lib/modules/6.9.1-arch1-1/pkgbase': 'linux\n',
    '/boot/initramfs-linux.img': 'ia',
    '/usr/lib/modules/6.1.0-9-amd64/modules.dep': '',
  });
  try {
    assert.deepEqual(findKernels(f.tree), [
      { version: '6.9.1-arch1-1', kernel: '/usr/lib/modules/6.9.1-arch1-1/vmlinuz', initrd: '/boot/initramfs-linux.img' },
      { version: '6.1.0-10-amd64', kernel: '/boot/vmlinuz-6.1.0-10-amd64', initrd: undefined },
      { version: '6.1.0-9-amd64', kernel: '/boot/vmlinuz-6.1.0-9-amd64', initrd: '/boot/initrd.img-6.1.0-9-amd64' },
    ]);
    assert.ok(compareVersions('6.1.0-10', '6.1.0-9') > 0);
  } finally {
    f.done();
  }
});

test('root= of the root filesystem goes in front, unless boot.cmdline has its own', () => {
  assert.equal(kernelCmdline('rw console=ttyS0,115200', { filesystemUuid: 'u-1', partUuid: 'p-2' }), 'root=UUID=u-1 rw console=ttyS0,115200');
  assert.equal(kernelCmdline('root=/dev/vda2 rw', { filesystemUuid: 'u-1' }), 'root=/dev/vda2 rw');
  // A root filesystem without a UUID of its own (squashfs) is found by its partition.
  assert.equal(kernelCmdline('ro', { filesystemUuid: undefined, partUuid: 'p-2' }), 'root=PARTUUID=p-2 ro');
  assert.equal(kernelCmdline('rw', undefined), 'rw');
});

test('systemd-boot writes the removable-media binary, loader.conf, one entry per kernel and the kernels, at SOURCE_DATE_EPOCH', () => {
  const f = fixture({
    '/usr/lib/systemd/boot/efi/systemd-bootx64.efi': 'MZ-sd-boot',
    '/etc/os-release': 'ID=debian\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
    '/boot/vmlinuz-6.1.0-50-amd64': 'kernel',
    '/boot/initrd.img-6.1.0-50-amd64': 'initrd',
    '/efi/.keep': '',
  });
  try {
    const setup = { tree: f.tree, machine: 'x86_64', espDirectory: '/efi', sourceDateEpoch: 1700000000 };
    assert.equal(chooseLoader('auto', BOARDS['x86_64-uefi'], setup).loader?.name, 'systemd-boot');
    assert.equal(chooseLoader('auto', BOARDS['generic-x86_64'], setup).loader, undefined);
    assert.equal(chooseLoader('none', BOARDS['x86_64-uefi'], setup).loader, undefined);
    assert.equal(imageOsRelease(f.tree).pretty, 'Debian GNU/Linux 12 (bookworm)');
    systemdBoot.install({ ...setup, kernels: findKernels(f.tree), cmdline: 'root=UUID=x rw' });
    const read = (p: string) => readFileSync(join(f.root, 'efi', p), 'utf8');
    assert.equal(read('EFI/BOOT/BOOTX64.EFI'), 'MZ-sd-boot');
    assert.equal(read('EFI/systemd/systemd-bootx64.efi'), 'MZ-sd-boot');
    assert.equal(read('loader/loader.conf'), loaderConfText('debian-6.1.0-50-amd64'));
    assert.match(read('loader/entries/debian-6.1.0-50-amd64.conf'), /^options root=UUID=x rw$/m);
    assert.equal(read('debian/6.1.0-50-amd64/linux'), 'kernel');
    assert.equal(read('debian/6.1.0-50-amd64/initrd'), 'initrd');
    for (const p of ['', 'EFI', 'EFI/BOOT', 'loader/entries', 'debian/6.1.0-50-amd64', 'debian/6.1.0-50-amd64/initrd']) assert.equal(statSync(join(f.root, 'efi', p)).mtimeMs, 1700000000_000, `/efi/${p}`);
  } finally {
    f.done();
  }
});

test('systemd-boot says what is missing: the EFI binary, the ESP, an architecture without one', () => {
  const f = fixture({ '/efi/.keep': '' });
  try {
    assert.match(systemdBoot.missing({ tree: f.tree, machine: 'x86_64', espDirectory: '/efi', sourceDateEpoch: 0 })!, /no \/usr\/lib\/systemd\/boot\/efi\/systemd-bootx64\.efi/);
    assert.match(systemdBoot.missing({ tree: f.tree, machine: 'x86_64', espDirectory: undefined, sourceDateEpoch: 0 })!, /EFI system partition/);
    assert.match(systemdBoot.missing({ tree: f.tree, machine: 's390x', espDirectory: '/efi', sourceDateEpoch: 0 })!, /no EFI binary for s390x/);
    const auto = chooseLoader('auto', BOARDS['x86_64-uefi'], { tree: f.tree, machine: 'x86_64', espDirectory: '/efi', sourceDateEpoch: 0 });
    assert.equal(auto.loader, undefined);
  } finally {
    f.done();
  }
});
