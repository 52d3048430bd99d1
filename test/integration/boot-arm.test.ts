/**
 * Debian bookworm arm64 boards, built and checked as the unprivileged test
 * user: aarch64-uefi (systemd-boot from the image's systemd-boot-efi, AAVMF)
 * booted under TCG to the serial console's login prompt; aarch64-uboot
 * (extlinux.conf read by the host's U-Boot for QEMU virt) booted the same
 * way. The arm64 builds take the
 * native-twin path (issue 11: update-initramfs's tools run natively, the
 * initramfs is made once), about 90 s here with a warm cache, and the
 * boot to login about 80 s under TCG. Build and boot times are in the
 * output. The Raspberry Pi boards, which QEMU cannot boot, are checked
 * in boot-raspberrypi.test.ts.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { imageDir, integrationSkipReason, kiln, TEST_USER } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { hostMirrorFor } from '../../src/catalog/index.ts';
import { fatListing, fatRead, sfdiskJson } from './disk-checks.ts';

const PASSWORD = 'kiln-boot-test';
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const readable = (file: string) => spawnSync('test', ['-r', file]).status === 0;
const baseSkip = integrationSkipReason() ?? (hostMirrorFor('debian') ? undefined : 'the host has no Debian apt source to use as mirror');
const bootSkip = (firmware: string, pkg: string) =>
  skipOrFail(baseSkip ?? (has('qemu-system-aarch64') ? undefined : 'qemu-system-aarch64 missing: install qemu-system-arm') ?? (readable(firmware) ? undefined : `${firmware} missing: install ${pkg}`));

const toml = (board: string) => `[distribution]
name = "debian"
release = "bookworm"

[board]
name = "${board}"

[packages]
base = "minimal"

[system]
root-password = "${PASSWORD}"

[output]
format = ["disk"]
`;

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(0)} s`;
const BUILD_MS = 2_400_000;

/** Builds DIR, asserting success and the loader's log line; returns the time it took. */
async function build(dir: string, loaderLine: RegExp): Promise<string> {
  const started = Date.now();
  const r = await kiln(['build', '-C', dir], { timeoutMs: BUILD_MS });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stderr + r.stdout, loaderLine);
  return seconds(started);
}

/** kiln boot --expect login: under TCG (an arm64 guest on an x86-64 host), within 15 minutes. */
async function bootToLogin(t: { diagnostic: (m: string) => void }, dir: string): Promise<void> {
  const started = Date.now();
  const r = await kiln(['boot', '-C', dir, '--expect', 'login:', '--timeout', '900'], { timeoutMs: 1_000_000 });
  t.diagnostic(`boot to login: ${seconds(started)}`);
  assert.equal(r.code, 0, r.stderr + r.stdout.slice(-3000));
  assert.match(r.stdout, /login:/);
  assert.match(r.stderr, /^kiln: booting .* with software emulation \(TCG, slow\): the image is for aarch64, the host is x86_64$/m);
  assert.equal(spawnSync('pgrep', ['-u', TEST_USER, '-a', 'qemu-system'], { encoding: 'utf8' }).stdout.trim(), '', 'no QEMU left running');
}

describe('boot: Debian bookworm arm64, aarch64-uefi (AAVMF, systemd-boot)', { skip: bootSkip('/usr/share/AAVMF/AAVMF_CODE.fd', 'qemu-efi-aarch64') }, () => {
  const dir = imageDir(toml('aarch64-uefi'));
  let buildTime = '';
  before(async () => {
    buildTime = await build(dir, /\[boot\] systemd-boot: \S+-arm64; options root=UUID=\S+ rw console=ttyAMA0,115200/);
  });

  test('kiln boot --expect login: reaches the login prompt on ttyAMA0', async (t) => {
    t.diagnostic(`build: ${buildTime}`);
    await bootToLogin(t, dir);
  });
});

describe('boot: Debian bookworm arm64, aarch64-uboot (U-Boot distro boot, extlinux)', { skip: bootSkip('/usr/lib/u-boot/qemu_arm64/u-boot.bin', 'u-boot-qemu') }, () => {
  const dir = imageDir(toml('aarch64-uboot'));
  let buildTime = '';
  before(async () => {
    buildTime = await build(dir, /\[boot\] extlinux: \S+-arm64; options root=UUID=\S+ rw console=ttyAMA0,115200; 1 files in \/boot/);
  });

  test('the first partition is FAT, legacy-bios-bootable, with /extlinux/extlinux.conf naming the kernel in it', () => {
    const disk = join(dir, 'out/image.raw');
    const table = sfdiskJson(disk);
    const first = table.partitions[0]!;
    assert.match(first.attrs ?? '', /LegacyBIOSBootable/);
    const conf = fatRead(disk, first.start * 512, '::/extlinux/extlinux.conf');
    const kernel = /^ {2}LINUX \/(vmlinuz-\S+)$/m.exec(conf)?.[1];
    assert.ok(kernel, conf);
    assert.match(fatListing(disk, first.start * 512), new RegExp(`::/${kernel.replace(/\./g, '\\.')}\\b`));
  });

  test('kiln boot --expect login: boots through U-Boot and extlinux.conf', async (t) => {
    t.diagnostic(`build: ${buildTime}`);
    await bootToLogin(t, dir);
  });
});
