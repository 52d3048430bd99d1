import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { bootTree as fixture } from './boot-tree.ts';
import { findKernels } from '../../src/boot/kernels.ts';
import { extlinux, extlinuxConfText, onPartition } from '../../src/boot/extlinux.ts';
import { chooseLoader } from '../../src/boot/loaders.ts';
import { qemuArgs } from '../../src/boot/qemu.ts';
import { BOARDS } from '../../src/catalog/index.ts';

test('extlinux.conf: the first label is the default, one LABEL per kernel with LINUX, INITRD, FDTDIR and APPEND', () => {
  const text = extlinuxConfText([
    { label: 'debian-6.1.0-10-arm64', title: 'Debian 12, Linux 6.1.0-10-arm64', linux: '/vmlinuz-6.1.0-10-arm64', initrd: '/initrd.img-6.1.0-10-arm64', append: 'root=UUID=abc rw console=ttyAMA0,115200' },
    { label: 'debian-6.1.0-9-arm64', title: 'Debian 12, Linux 6.1.0-9-arm64', linux: '/vmlinuz-6.1.0-9-arm64', fdtdir: '/dtbs/6.1.0-9-arm64', append: 'rw' },
  ]);
  assert.equal(
    text,
    [
      '# Written by kiln: U-Boot distro boot (extlinux)',
      'DEFAULT debian-6.1.0-10-arm64',
      'MENU TITLE Boot menu',
      'PROMPT 0',
      'TIMEOUT 10',
      '',
      'LABEL debian-6.1.0-10-arm64',
      '  MENU LABEL Debian 12, Linux 6.1.0-10-arm64',
      '  LINUX /vmlinuz-6.1.0-10-arm64',
      '  INITRD /initrd.img-6.1.0-10-arm64',
      '  APPEND root=UUID=abc rw console=ttyAMA0,115200',
      '',
      'LABEL debian-6.1.0-9-arm64',
      '  MENU LABEL Debian 12, Linux 6.1.0-9-arm64',
      '  LINUX /vmlinuz-6.1.0-9-arm64',
      '  FDTDIR /dtbs/6.1.0-9-arm64',
      '  APPEND rw',
      '',
    ].join('\n'),
  );
});

test('paths as U-Boot sees them on the partition: inside it relative to its root, outside it undefined', () => {
  assert.equal(onPartition('/boot/vmlinuz-6.1', '/boot'), '/vmlinuz-6.1');
  assert.equal(onPartition('/boot/vmlinuz-6.1', '/'), '/boot/vmlinuz-6.1');
  assert.equal(onPartition('/usr/lib/modules/6.9/vmlinuz', '/boot'), undefined);
  assert.equal(onPartition('/bootx/vmlinuz', '/boot'), undefined);
});

test('extlinux writes /boot/extlinux/extlinux.conf naming Debian kernels in place, and copies an Arch kernel into the partition', () => {
  const f = fixture({
    '/etc/os-release': 'ID=debian\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
    '/boot/vmlinuz-6.1.0-10-arm64': 'k10',
    '/boot/initrd.img-6.1.0-10-arm64': 'i10',
    '/usr/lib/modules/6.9.1-arch1-1/vmlinuz': 'ka',
  });
  try {
    const kernels = findKernels(f.tree);
    const written = extlinux.install({ tree: f.tree, kernels, cmdline: 'root=UUID=abc rw', machine: 'aarch64', bootDirectory: '/boot', sourceDateEpoch: 1_700_000_000 });
    assert.deepEqual(written.sort(), ['/boot/debian/6.9.1-arch1-1/linux', '/boot/extlinux/extlinux.conf']);
    const conf = readFileSync(join(f.root, 'boot/extlinux/extlinux.conf'), 'utf8');
    assert.match(conf, /^DEFAULT debian-6\.9\.1-arch1-1$/m);
    assert.match(conf, /LABEL debian-6\.1\.0-10-arm64\n.*\n {2}LINUX \/vmlinuz-6\.1\.0-10-arm64\n {2}INITRD \/initrd\.img-6\.1\.0-10-arm64\n {2}APPEND root=UUID=abc rw\n/);
    assert.match(conf, / {2}LINUX \/debian\/6\.9\.1-arch1-1\/linux\n/);
    assert.equal(readFileSync(join(f.root, 'boot/debian/6.9.1-arch1-1/linux'), 'utf8'), 'ka');
    assert.equal(statSync(join(f.root, 'boot/extlinux')).mtimeMs, 1_700_000_000_000);
  } finally {
    f.done();
  }
});

test('boot.loader = "auto" picks extlinux on a U-Boot board and systemd-boot on aarch64-uefi', () => {
  const f = fixture({ '/usr/lib/systemd/boot/efi/systemd-bootaa64.efi': 'efi' });
  try {
    const base = { tree: f.tree, machine: 'aarch64', espDirectory: '/efi', sourceDateEpoch: 0 };
    assert.equal(chooseLoader('auto', BOARDS['aarch64-uboot'], base).loader?.name, 'extlinux');
    assert.equal(chooseLoader('auto', BOARDS['riscv64-uboot'], base).loader?.name, 'extlinux');
    assert.equal(chooseLoader('auto', BOARDS['aarch64-uefi'], base).loader?.name, 'systemd-boot');
  } finally {
    f.done();
  }
});

test('boards: aarch64-uefi is virt with AAVMF as pflash on ttyAMA0; aarch64-uboot and riscv64-uboot start U-Boot with -bios (and -kernel)', () => {
  const uefi = BOARDS['aarch64-uefi'];
  assert.equal(uefi.console, 'ttyAMA0');
  const uefiArgs = qemuArgs({ qemu: uefi.qemu!, disk: 'd.raw', diskFormat: 'raw', accel: 'tcg', memory: '1G', snapshot: true, variables: '/tmp/v.fd' }).join(' ');
  assert.match(uefiArgs, /-machine virt,accel=tcg -cpu max /);
  assert.match(uefiArgs, /if=pflash,format=raw,unit=0,readonly=on,file=\/usr\/share\/AAVMF\/AAVMF_CODE\.fd .*if=pflash,format=raw,unit=1,file=\/tmp\/v\.fd/);
  const uboot = qemuArgs({ qemu: BOARDS['aarch64-uboot'].qemu!, disk: 'd.raw', diskFormat: 'raw', accel: 'tcg', memory: '1G', snapshot: true }).join(' ');
  assert.match(uboot, /-bios \/usr\/lib\/u-boot\/qemu_arm64\/u-boot\.bin/);
  assert.doesNotMatch(uboot, /pflash/);
  const riscv = qemuArgs({ qemu: BOARDS['riscv64-uboot'].qemu!, disk: 'd.raw', diskFormat: 'raw', accel: 'tcg', memory: '1G', snapshot: true }).join(' ');
  assert.match(riscv, /-bios \/usr\/lib\/riscv64-linux-gnu\/opensbi\/generic\/fw_jump\.elf -kernel \/usr\/lib\/u-boot\/qemu-riscv64_smode\/uboot\.elf/);
  assert.equal(BOARDS['riscv64-uboot'].architecture, 'riscv64');
  const layout = BOARDS['aarch64-uboot'].layout('deb');
  assert.deepEqual(layout.partitions[0], { type: 'xbootldr', size: '512M', filesystem: 'vfat', contents: '/boot', attributes: ['legacy-bios-bootable'] });
});

test('Raspberry Pi 4 (Debian layout): firmware from /usr/lib/raspi-firmware, kernel, initramfs and bcm DTBs copied into /boot/firmware, config.txt and cmdline.txt written', async () => {
  const { raspberryPiFirmware, cmdlineTxtText } = await import('../../src/boot/raspberrypi.ts');
  const f = fixture({
    '/usr/lib/raspi-firmware/start4.elf': 's4',
    '/usr/lib/raspi-firmware/fixup4.dat': 'f4',
    '/boot/vmlinuz-6.1.0-10-arm64': 'k',
    '/boot/initrd.img-6.1.0-10-arm64': 'i',
    '/usr/lib/linux-image-6.1.0-10-arm64/broadcom/bcm2711-rpi-4-b.dtb': 'dtb',
    '/usr/lib/linux-image-6.1.0-10-arm64/allwinner/sun50i-a64-pine64.dtb': 'other',
    '/boot/firmware/.keep': '',
  });
  try {
    const setup = { tree: f.tree, machine: 'aarch64', bootDirectory: '/boot/firmware', sourceDateEpoch: 1_700_000_000 };
    assert.equal(raspberryPiFirmware.missing(setup), undefined);
    assert.equal(chooseLoader('auto', BOARDS['raspberrypi-4'], setup).loader?.name, 'raspberrypi');
    const written = raspberryPiFirmware.install({ ...setup, kernels: findKernels(f.tree), cmdline: 'root=UUID=abc rw console=serial0,115200' });
    assert.deepEqual(written.map((p) => p.slice('/boot/firmware/'.length)).sort(), ['bcm2711-rpi-4-b.dtb', 'cmdline.txt', 'config.txt', 'fixup4.dat', 'initrd.img-6.1.0-10-arm64', 'start4.elf', 'vmlinuz-6.1.0-10-arm64']);
    assert.equal(readFileSync(join(f.root, 'boot/firmware/config.txt'), 'utf8'), '# Written by kiln: the Raspberry Pi firmware reads this from the FAT boot partition\narm_64bit=1\nenable_uart=1\nupstream_kernel=1\nkernel=vmlinuz-6.1.0-10-arm64\ninitramfs initrd.img-6.1.0-10-arm64 followkernel\n');
    assert.equal(readFileSync(join(f.root, 'boot/firmware/cmdline.txt'), 'utf8'), 'console=tty1 root=UUID=abc rw console=serial0,115200 rootwait\n');
    assert.equal(cmdlineTxtText('rw'), 'console=tty1 rw rootwait\n');
  } finally {
    f.done();
  }
});

test('Raspberry Pi: an image without the firmware is one line naming the package, and auto writes no loader', async () => {
  const { raspberryPiFirmware } = await import('../../src/boot/raspberrypi.ts');
  const f = fixture({ '/boot/vmlinuz-6.1.0-10-armmp': 'k' });
  try {
    const setup = { tree: f.tree, machine: 'armv7l', bootDirectory: '/boot/firmware', sourceDateEpoch: 0 };
    assert.equal(raspberryPiFirmware.missing(setup), 'the image has no Raspberry Pi firmware (/boot/firmware/start.elf or /usr/lib/raspi-firmware/start.elf)');
    const choice = chooseLoader('auto', BOARDS['raspberrypi-2'], setup);
    assert.equal(choice.loader, undefined);
  } finally {
    f.done();
  }
});

test('kiln doctor: the arm and riscv boards check their emulators and firmware (AAVMF, u-boot-qemu, OpenSBI), naming the packages', async () => {
  const { bootChecks } = await import('../../src/cli/doctor.ts');
  const none = bootChecks([BOARDS['aarch64-uefi'], BOARDS['aarch64-uboot'], BOARDS['riscv64-uboot']], () => undefined, () => false);
  assert.deepEqual(none.map((c) => c.what), ['boot aarch64-uefi: qemu-system-aarch64', 'boot aarch64-uefi: firmware', 'boot aarch64-uboot: qemu-system-aarch64', 'boot aarch64-uboot: firmware', 'boot riscv64-uboot: qemu-system-riscv64', 'boot riscv64-uboot: firmware']);
  assert.match(none[0]!.detail, /package qemu-system-arm/);
  assert.match(none[1]!.detail, /AAVMF_CODE\.fd, \/usr\/share\/AAVMF\/AAVMF_VARS\.fd not found \(Debian\/Ubuntu package qemu-efi-aarch64/);
  assert.match(none[3]!.detail, /qemu_arm64\/u-boot\.bin not found \(Debian\/Ubuntu package u-boot-qemu/);
  assert.match(none[4]!.detail, /package qemu-system-misc/);
  assert.match(none[5]!.detail, /fw_jump\.elf, \/usr\/lib\/u-boot\/qemu-riscv64_smode\/uboot\.elf not found \(Debian\/Ubuntu package opensbi, u-boot-qemu/);
});
