/**
 * A board whose U-Boot is written raw to the disk (rock64-rk3328): what the
 * board brings to the config, the refusals before anything is downloaded
 * (a distribution without its U-Boot package, a first partition inside the
 * boot chain), the blobs copied from the tree, and extlinux's FDT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootTree } from './boot-tree.ts';
import { addUbootBlobs } from '../../src/boot/uboot-blobs.ts';
import { extlinux } from '../../src/boot/extlinux.ts';
import { findKernels } from '../../src/boot/kernels.ts';
import type { BootDisk, DiskPiece } from '../../src/boot/grub-disk.ts';
import { BOARDS } from '../../src/catalog/index.ts';
import { ConfigError, loadConfig } from '../../src/config/index.ts';
import { checkBlobs } from '../../src/disk/layout-blobs.ts';
import { checkDisk } from '../../src/outputs/disk-tree.ts';
import { BuildError, UserError } from '../../src/util/errors.ts';

const ROCK64 = BOARDS['rock64-rk3328'];
const DEBIAN = `[distribution]\nname = "debian"\nrelease = "bookworm"\nmirror = "http://127.0.0.1:9/debian"\n\n[board]\nname = "rock64-rk3328"\n`;

function load(toml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-uboot-blobs-'));
  writeFileSync(join(dir, 'kiln.toml'), toml);
  return { dir, loaded: () => loadConfig({ dir, env: {} }), done: () => rmSync(dir, { recursive: true, force: true }) };
}

function userError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UserError, `expected a UserError, got ${err}`);
    assert.ok(!err.message.includes('\n'), err.message);
    return err.message;
  }
  assert.fail('expected a UserError');
}

test('rock64-rk3328 on Debian: arm64, u-boot-rockchip among the packages, a GPT whose first partition starts at 16M, console ttyS2 at 1500000 baud', () => {
  const d = load(DEBIAN);
  try {
    const { config, origins } = d.loaded();
    assert.equal(config['distribution.architecture'], 'arm64');
    assert.deepEqual(config['packages.install'], ['linux-image-arm64', 'systemd-sysv', 'udev', 'u-boot-rockchip']);
    assert.equal(config['disk.table'], 'gpt');
    assert.equal(config['disk.partitions'][0]!.offset, 16 * 1024 ** 2);
    assert.deepEqual(config['disk.partitions'][0]!.attributes, ['legacy-bios-bootable']);
    assert.equal(config['boot.cmdline'], 'rw console=ttyS2,1500000');
    assert.equal(origins['disk.partitions'], 'board rock64-rk3328');
    assert.doesNotThrow(() => checkDisk(config, d.dir, ['disk'], (c) => `/usr/sbin/${c}`));
  } finally {
    d.done();
  }
});

test('rock64-rk3328 on a distribution without its U-Boot package: one problem naming the package, the distribution and the fix', () => {
  for (const [name, pretty] of [
    ['archlinuxarm', 'Arch Linux ARM'],
    ['alpine', 'Alpine Linux'],
    ['ubuntu', 'Ubuntu'],
  ] as const) {
    const d = load(`[distribution]\nname = "${name}"\n${name === 'alpine' ? 'release = "edge"\n' : name === 'ubuntu' ? 'release = "noble"\n' : ''}\n[board]\nname = "rock64-rk3328"\n`);
    try {
      assert.throws(d.loaded, (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        const mine = err.problems.filter((p) => p.includes('board.name')).map((p) => p.replace(/^.*kiln\.toml/, 'kiln.toml'));
        assert.deepEqual(mine, [`kiln.toml:${name === 'archlinuxarm' ? 5 : 6}: board.name: board rock64-rk3328 writes its U-Boot from Debian's u-boot-rockchip, and ${pretty} has no package kiln knows with it; use distribution.name = "debian"`]);
        return true;
      });
    } finally {
      d.done();
    }
  }
});

test('a first partition inside the boot chain (the default 1M start, an offset below 16M, an MBR) is refused before the build, in one line', () => {
  const cases = [
    ['[[partition]]\ntype = "root"\n', /the first partition starts at 1 MiB \(sector 2048\), inside board rock64-rk3328's boot chain, which takes the sectors before 32768 \(idbloader\.img at sector 64, u-boot\.itb at sector 16384\)$/],
    ['[[partition]]\ntype = "root"\noffset = "12M"\n', /starts at 12 MiB \(sector 24576\)/],
    ['[disk]\ntable = "mbr"\n\n[[partition]]\ntype = "root"\n', /starts at 1 MiB \(sector 2048\)/],
  ] as const;
  for (const [layout, message] of cases) {
    const d = load(`${DEBIAN}\n${layout}`);
    try {
      const { config } = d.loaded();
      const err = userError(() => checkDisk(config, d.dir, ['disk'], (c) => `/usr/sbin/${c}`));
      assert.match(err, message);
      // Only a disk output checks it.
      assert.doesNotThrow(() => checkDisk(config, d.dir, ['tar'], (c) => `/usr/sbin/${c}`));
    } finally {
      d.done();
    }
  }
  const d = load(`${DEBIAN}\n[disk]\ntable = "mbr"\n\n[[partition]]\ntype = "root"\noffset = "16M"\n`);
  try {
    assert.doesNotThrow(() => checkDisk(d.loaded().config, d.dir, ['disk'], (c) => `/usr/sbin/${c}`));
  } finally {
    d.done();
  }
});

function fakeDisk(piecesDirectory: string, pieces: DiskPiece[]): BootDisk {
  return { table: 'gpt', alignment: 1024 ** 2, seed: 's', partitions: [], piecesDirectory, addPiece: (p) => void pieces.push(p) };
}

test("the blobs are the tree's files (not the host's), at sectors 64 and 16384, and a missing or oversized one is a build failure", () => {
  const f = bootTree({
    '/usr/lib/u-boot/rock64-rk3328/idbloader.img': 'tpl+spl',
    '/usr/lib/u-boot/rock64-rk3328/u-boot.itb': 'fit image',
  });
  const out = mkdtempSync(join(tmpdir(), 'kiln-uboot-pieces-'));
  try {
    const pieces: DiskPiece[] = [];
    const line = addUbootBlobs(f.tree, ROCK64, 'debian', fakeDisk(join(out, 'pieces'), pieces));
    assert.equal(line, 'U-Boot from u-boot-rockchip (/usr/lib/u-boot/rock64-rk3328): idbloader.img (7 bytes) at sector 64, u-boot.itb (9 bytes) at sector 16384');
    assert.deepEqual(
      pieces.map((p) => (p.kind === 'blob' ? [p.offset, readFileSync(p.file, 'utf8')] : p)),
      [
        [64 * 512, 'tpl+spl'],
        [16384 * 512, 'fit image'],
      ],
    );
    assert.equal(addUbootBlobs(f.tree, BOARDS['aarch64-uboot'], 'debian', fakeDisk(out, [])), undefined, 'a board without raw U-Boot adds nothing');
    assert.equal(addUbootBlobs(f.tree, ROCK64, 'debian', undefined), undefined, 'no disk, no blobs');
    writeFileSync(join(f.root, 'usr/lib/u-boot/rock64-rk3328/u-boot.itb'), Buffer.alloc(8192 * 512 + 1));
    assert.throws(() => addUbootBlobs(f.tree, ROCK64, 'debian', fakeDisk(out, [])), (err: unknown) => err instanceof BuildError && /u-boot\.itb is 4194305 bytes, more than the 4194304 bytes the boot chain leaves it at sector 16384/.test(err.message));
    rmSync(join(f.root, 'usr/lib/u-boot/rock64-rk3328/idbloader.img'));
    assert.throws(() => addUbootBlobs(f.tree, ROCK64, 'debian', fakeDisk(out, [])), (err: unknown) => err instanceof BuildError && /the image has no \/usr\/lib\/u-boot\/rock64-rk3328\/idbloader\.img, which u-boot-rockchip should have installed/.test(err.message));
  } finally {
    f.done();
    rmSync(out, { recursive: true, force: true });
  }
});

test("the blobs fit the board's GPT layout, and a partition over u-boot.itb is refused naming both", () => {
  const size = 64 * 1024 ** 2;
  const blobs = ROCK64.uboot!.blobs.map((b) => ({ name: b.file, offset: b.sector * 512, size: 800_000 }));
  assert.doesNotThrow(() => checkBlobs(blobs, 'gpt', size, [{ start: 16 * 1024 ** 2, end: size - 1024 ** 2, what: 'partition 1' }]));
  assert.doesNotThrow(() => checkBlobs(blobs, 'mbr', size, [{ start: 16 * 1024 ** 2, end: size, what: 'partition 1' }]));
  assert.match(userError(() => checkBlobs(blobs, 'gpt', size, [{ start: 8 * 1024 ** 2, end: size - 1024 ** 2, what: 'partition 1' }])), /^blob u-boot\.itb \(bytes 8388608\.\.9188607\) overlaps partition 1 \(bytes 8388608\.\./);
});

test('extlinux with the board device tree: the kernel package\'s DTB copied into the U-Boot partition, named by FDT; a kernel without it is a build failure', () => {
  const f = bootTree({
    '/etc/os-release': 'ID=debian\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
    '/boot/vmlinuz-6.1.0-10-arm64': 'k',
    '/boot/initrd.img-6.1.0-10-arm64': 'i',
    '/usr/lib/linux-image-6.1.0-10-arm64/rockchip/rk3328-rock64.dtb': 'rock64 dtb',
    '/usr/lib/linux-image-6.1.0-10-arm64/rockchip/rk3328-roc-cc.dtb': 'other',
  });
  try {
    const setup = { tree: f.tree, machine: 'aarch64', bootDirectory: '/boot', deviceTree: ROCK64.deviceTree!, sourceDateEpoch: 1_700_000_000 };
    const written = extlinux.install({ ...setup, kernels: findKernels(f.tree), cmdline: 'root=UUID=abc rw console=ttyS2,1500000' });
    assert.deepEqual(written.sort(), ['/boot/debian/6.1.0-10-arm64/rk3328-rock64.dtb', '/boot/extlinux/extlinux.conf']);
    assert.equal(readFileSync(join(f.root, 'boot/debian/6.1.0-10-arm64/rk3328-rock64.dtb'), 'utf8'), 'rock64 dtb');
    const conf = readFileSync(join(f.root, 'boot/extlinux/extlinux.conf'), 'utf8');
    assert.match(conf, / {2}LINUX \/vmlinuz-6\.1\.0-10-arm64\n {2}INITRD \/initrd\.img-6\.1\.0-10-arm64\n {2}FDT \/debian\/6\.1\.0-10-arm64\/rk3328-rock64\.dtb\n {2}APPEND root=UUID=abc rw console=ttyS2,1500000\n/);
    rmSync(join(f.root, 'usr/lib/linux-image-6.1.0-10-arm64/rockchip/rk3328-rock64.dtb'));
    assert.throws(
      () => extlinux.install({ ...setup, kernels: findKernels(f.tree), cmdline: 'rw' }),
      (err: unknown) => err instanceof BuildError && /^Linux 6\.1\.0-10-arm64 has no device tree rockchip\/rk3328-rock64\.dtb \(looked in \/usr\/lib\/linux-image-6\.1\.0-10-arm64\)/.test(err.message),
    );
  } finally {
    f.done();
  }
});
