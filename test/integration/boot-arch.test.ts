/**
 * A non-Debian image boots: Arch Linux x86_64 from the fixture repository
 * (test/helpers/fake-arch.ts with the boot packages of fake-arch-boot.ts,
 * served on 127.0.0.1) on the x86_64-uefi board, built and booted as the
 * unprivileged test user. The kernel is Debian's, laid out as Arch's linux
 * (/usr/lib/modules/VER/vmlinuz and pkgbase); the initramfs is made in the
 * tree by an alpm hook (kiln-initcpio: busybox and GNU cpio, standing in
 * for mkinitcpio) at /boot/initramfs-linux.img, where kiln's boot code
 * finds Arch's; systemd-boot's EFI binary is the tree's own. No Debian tool
 * runs: the boot setup is kiln's. QEMU (q35, OVMF; KVM where it works, else
 * TCG) starts systemd-boot, the kernel mounts the ext4 root through the
 * initramfs, and busybox as /sbin/init prints a marker carrying this
 * build's host name, then powers off. Times are in the test output.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { imageDir, integrationSkipReason, kiln, TEST_USER } from '../helpers/kiln.ts';
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';
import { fakeArchSkipReason, makeFakeArchRepos, readableKeyring } from '../helpers/fake-arch.ts';
import { makeFakeArchBootRepo, type FakeArchBootRepo } from '../helpers/fake-arch-boot.ts';
import { initMarker } from '../helpers/fake-arch-boot-specs.ts';
import { startMirror, type Mirror } from '../helpers/mirror-server.ts';
import { fatRead, sfdiskJson } from './disk-checks.ts';

const skip = skipOrFail(
  integrationSkipReason() ??
    fakeArchSkipReason(['x86_64']) ??
    missingTools(['mdir', 'mcopy', 'cpio']) ??
    (spawnSync('sh', ['-c', 'command -v qemu-system-x86_64 && command -v sfdisk']).status !== 0 ? 'qemu-system-x86_64 or sfdisk missing: install qemu-system-x86, fdisk' : undefined) ??
    (spawnSync('test', ['-r', '/usr/share/OVMF/OVMF_CODE_4M.fd']).status !== 0 ? 'OVMF missing: install ovmf' : undefined),
);

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

describe('boot: Arch Linux x86_64 from the fixture repository, x86_64-uefi (systemd-boot), busybox as init', { skip }, () => {
  const hostname = `kiln-arch-${randomBytes(4).toString('hex')}`;
  let boot: FakeArchBootRepo;
  let mirror: Mirror;
  let dir: string;
  let fixtureTime = '';
  let buildTime = '';
  let buildLog = '';

  before(async () => {
    let started = Date.now();
    const repos = await makeFakeArchRepos(mkdtempSync(join(tmpdir(), 'kiln-boot-arch-')), { architectures: ['x86_64'] });
    boot = await makeFakeArchBootRepo(repos);
    mirror = await startMirror(boot.root);
    fixtureTime = seconds(started);
    const keyring = readableKeyring(repos, 'boot-arch');
    dir = imageDir(
      [
        '[distribution]', 'name = "archlinux"', 'architecture = "x86_64"', `mirror = "${mirror.url}/$repo/os/$arch"`, `keyring = ["${keyring}"]`, '',
        '[board]', 'name = "x86_64-uefi"', '',
        // The board brings linux, mkinitcpio and systemd: the fixture's linux, its stand-in for mkinitcpio, and of systemd only systemd-boot's EFI binary.
        '[packages]', 'install = { remove = ["mkinitcpio", "systemd"], add = ["kiln-initcpio", "systemd-boot-efi", "kiln-busybox-init"] }', '',
        '[system]', `hostname = "${hostname}"`, '',
        // A kernel that cannot go on reboots at once, which ends QEMU (-no-reboot): a failed boot fails fast, not at the timeout.
        '[boot]', 'cmdline = "rw console=ttyS0,115200 panic=-1"', '',
        '[output]', 'format = ["disk"]', '',
      ].join('\n'),
    );
    started = Date.now();
    const r = await kiln(['build', '-C', dir], { timeoutMs: 600_000 });
    buildTime = seconds(started);
    buildLog = r.stderr + r.stdout;
    assert.equal(r.code, 0, buildLog);
  });
  after(async () => {
    await mirror?.close();
  });

  test("the initramfs is the alpm hook's, and systemd-boot's entry has Arch's kernel, its initramfs and root=UUID", (t) => {
    t.diagnostic(`fixture: ${fixtureTime} (kernel ${boot.kernel.name} ${boot.kernel.version}, .deb ${boot.kernelFromKilnCache ? "from the test user's kiln cache" : 'from the mirror'}); build: ${buildTime}`);
    const line = new RegExp(`\\[boot\\] systemd-boot: ${boot.kernel.release}; options root=UUID=\\S+ rw console=ttyS0,115200 panic=-1;`);
    assert.match(buildLog, line);
    assert.doesNotMatch(buildLog, /no initramfs/);
    // The ESP as written on the disk, read with mtools; the initramfs listed with GNU cpio.
    const disk = join(dir, 'out/image.raw');
    const esp = sfdiskJson(disk).partitions.find((p) => p.type.toUpperCase() === 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
    assert.ok(esp, 'the disk has an EFI system partition');
    const offset = esp.start * 512;
    const entry = fatRead(disk, offset, `::/loader/entries/arch-${boot.kernel.release}.conf`);
    assert.match(entry, new RegExp(`^linux /arch/${boot.kernel.release}/linux$`, 'm'));
    assert.match(entry, new RegExp(`^initrd /arch/${boot.kernel.release}/initrd$`, 'm'));
    const initrd = spawnSync('mcopy', ['-n', '-i', `${disk}@@${offset}`, `::/arch/${boot.kernel.release}/initrd`, '-'], { env: { PATH: process.env.PATH, MTOOLS_SKIP_CHECK: '1' }, maxBuffer: 256 << 20 });
    assert.equal(initrd.status, 0, String(initrd.stderr));
    const members = spawnSync('cpio', ['-t', '--quiet'], { input: initrd.stdout, encoding: 'utf8' }).stdout.split('\n');
    for (const m of ['init', 'bin/busybox', 'lib/modules/load-order', 'lib/modules/virtio_blk.ko', 'lib/modules/ext4.ko', 'lib/modules/jbd2.ko']) assert.ok(members.includes(m), `${m} in the initramfs: ${members.join(' ')}`);
  });

  test('kiln boot --expect: busybox, the init of the root filesystem, prints the marker with this build\'s host name', async (t) => {
    const started = Date.now();
    const r = await kiln(['boot', '-C', dir, '--expect', initMarker(hostname), '--timeout', '600'], { timeoutMs: 700_000 });
    const how = r.stderr.split('\n').find((l) => l.startsWith('kiln: booting')) ?? '';
    t.diagnostic(`boot to the marker: ${seconds(started)} (${how})`);
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(-4000));
    assert.match(how, /with (KVM|software emulation \(TCG, slow\): .+)$/);
    // The initramfs found the root, and the line is the root's init's: the kernel release and an ext4 root.
    assert.match(r.stdout, /kiln-initcpio: mounting \/dev\/vda2 \(UUID=\S+\) rw/);
    assert.match(r.stdout, new RegExp(`${initMarker(hostname)} \\(kernel ${boot.kernel.release}, pid 1, root /dev/vda2 ext4 rw`));
    assert.equal(spawnSync('pgrep', ['-u', TEST_USER, '-a', 'qemu-system'], { encoding: 'utf8' }).stdout.trim(), '', 'no QEMU left running');
  });
});
