/**
 * Debian bookworm amd64 on the x86_64-uefi board, built and booted as the
 * unprivileged test user: systemd-boot from the image's own
 * systemd-boot-efi, the kernel and the initramfs that update-initramfs made,
 * booted in QEMU (q35, OVMF; TCG here, or KVM where it works) to the serial
 * console's login prompt, then logged in to check that systemd is running
 * on the root filesystem the manifest names. One build, two boots; their
 * times are in the test output. The same packages with boot.loader = "uki"
 * (only the output stage runs again): the firmware starts the Unified
 * Kernel Image directly, to the login prompt. Then the one-line refusals: a
 * missing firmware file, and a disk built without a bootloader.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { imageDir, integrationSkipReason, isRoot, kiln, TEST_USER } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { sfdiskJson } from './disk-checks.ts';
import { hostMirrorFor } from '../../src/catalog/index.ts';

const PASSWORD = 'kiln-boot-test';
const qemuMissing = ['qemu-system-x86_64'].find((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const skip = skipOrFail(
  integrationSkipReason() ??
    (hostMirrorFor('debian') ? undefined : 'the host has no Debian apt source to use as mirror') ??
    (qemuMissing ? 'qemu-system-x86_64 missing: install qemu-system-x86' : undefined) ??
    (spawnSync('test', ['-r', '/usr/share/OVMF/OVMF_CODE_4M.fd']).status !== 0 ? 'OVMF missing: install ovmf' : undefined),
);

const TOML = `[distribution]
name = "debian"
release = "bookworm"

[board]
name = "x86_64-uefi"

[packages]
base = "minimal"

[system]
root-password = "${PASSWORD}"

[output]
format = ["disk"]
`;

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => /^kiln: error/.test(l));
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(0)} s`;

describe('boot: Debian bookworm amd64, x86_64-uefi (systemd-boot)', { skip }, () => {
  const dir = imageDir(TOML);
  let built = false;

  before(async () => {
    const started = Date.now();
    const r = await kiln(['build', '-C', dir], { timeoutMs: 1_500_000 });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stderr + r.stdout, /\[boot\] systemd-boot: \S+-amd64; options root=UUID=\S+ rw console=ttyS0,115200/);
    built = true;
    buildTime = seconds(started);
  });
  let buildTime = '';

  test('kiln boot --expect login: reaches the serial console login prompt', async (t) => {
    assert.ok(built);
    t.diagnostic(`build: ${buildTime}`);
    const started = Date.now();
    const r = await kiln(['boot', '-C', dir, '--expect', 'login:', '--timeout', '900'], { timeoutMs: 1_000_000 });
    t.diagnostic(`boot to login: ${seconds(started)} (${r.stderr.split('\n').find((l) => l.startsWith('kiln: booting')) ?? ''})`);
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(-3000));
    assert.match(r.stdout, /login:/);
    assert.match(r.stderr, /kiln: booting .* with (KVM|software emulation \(TCG, slow\): .+)$/m);
    assert.equal(leftRunning(), '', 'no QEMU left running');
  });

  test('kiln boot --login root --run: systemd is running (or degraded) on the root filesystem of the manifest', async (t) => {
    assert.ok(built);
    const manifest = JSON.parse(readFileSync(join(dir, 'out/image.manifest.json'), 'utf8')) as { outputs: { details?: { partitions?: { type?: string; typeGuid?: string; filesystemUuid?: string; filesystem: string }[] } }[] };
    const partitions = manifest.outputs.find((o) => o.details?.partitions)!.details!.partitions!;
    // Only the disk is written: the partition images it was made from are not described by a digest.
    assert.deepEqual(partitions.filter((p) => 'sha256' in p), []);
    const root = partitions.find((p) => p.filesystem === 'ext4')!;
    const started = Date.now();
    const r = await kiln(['boot', '-C', dir, '--login', `root:${PASSWORD}`, '--run', 'systemctl is-system-running; findmnt -no UUID /', '--timeout', '900'], { timeoutMs: 1_000_000 });
    t.diagnostic(`boot, login and command: ${seconds(started)}`);
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(-3000));
    const output = /----- kiln boot: output of [^\n]* -----\n([\s\S]*?)----- kiln boot: end/.exec(r.stdout)?.[1];
    assert.ok(output !== undefined, r.stdout.slice(-2000));
    const [state, uuid] = output.trim().split('\n').map((l) => l.trim());
    assert.match(state!, /^(running|degraded)$/);
    assert.equal(uuid, root.filesystemUuid);
    assert.equal(leftRunning(), '', 'no QEMU left running');
  });

  test('a missing firmware file is one line naming the package, exit 2', async () => {
    const r = await kiln(['boot', '-C', dir, '--set', 'boot.firmware=/nonexistent/OVMF_CODE_4M.fd', '--expect', 'login:']);
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(errorLines(r.stderr), ['kiln: error: the x86_64-uefi firmware /nonexistent/OVMF_CODE_4M.fd is missing']);
    assert.match(r.stderr, /^hint: install the package ovmf/m);
  });

  test('boot.loader = "uki": the Unified Kernel Image (the image\'s systemd-stub with its kernel, initramfs and command line) is the ESP\'s BOOTX64.EFI and boots to the login prompt', async (t) => {
    const other = imageDir();
    cpSync(join(dir, 'kiln.toml'), join(other, 'kiln.toml'));
    if (isRoot) spawnSync('chown', ['-R', `${TEST_USER}:`, other]);
    // The packages are the same as the systemd-boot image's: only the output stage runs again.
    let started = Date.now();
    const b = await kiln(['build', '-C', other, '--set', 'boot.loader=uki'], { timeoutMs: 1_500_000 });
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr + b.stdout, /\[boot\] uki: \S+-amd64; options root=UUID=\S+ rw console=ttyS0,115200; 2 files in \/efi\/EFI/);
    t.diagnostic(`build: ${seconds(started)}`);
    const disk = join(other, 'out/image.raw');
    const esp = sfdiskJson(disk).partitions[0]!.start * 512;
    const efi = spawnSync('mdir', ['-/', '-b', '-i', `${disk}@@${esp}`, '::/EFI'], { encoding: 'utf8', env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
    assert.equal(efi.status, 0, efi.stderr);
    assert.match(efi.stdout, /::\/EFI\/Linux\/debian-6\.\S+-amd64\.efi$/m);
    assert.doesNotMatch(efi.stdout, /systemd/, 'no systemd-boot in the ESP');
    const pe = spawnSync('mcopy', ['-n', '-i', `${disk}@@${esp}`, '::/EFI/BOOT/BOOTX64.EFI', '-'], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } }).stdout;
    const sections = peSectionNames(pe);
    for (const section of ['.linux', '.initrd', '.cmdline', '.osrel', '.uname']) assert.ok(sections.includes(section), `BOOTX64.EFI has a ${section} section: ${sections.join(' ')}`);
    started = Date.now();
    const r = await kiln(['boot', '-C', other, '--set', 'boot.loader=uki', '--expect', 'login:', '--timeout', '900'], { timeoutMs: 1_000_000 });
    t.diagnostic(`boot to login: ${seconds(started)}`);
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(-3000));
    assert.match(r.stdout, /login:/);
    assert.equal(leftRunning(), '', 'no QEMU left running');
  });

  test('a disk built with boot.loader = "none" is refused in one line, exit 2, before QEMU starts', async () => {
    const other = imageDir();
    cpSync(join(dir, 'kiln.toml'), join(other, 'kiln.toml'));
    if (isRoot) spawnSync('chown', ['-R', `${TEST_USER}:`, other]);
    const b = await kiln(['build', '-C', other, '--set', 'boot.loader=none'], { timeoutMs: 1_500_000 });
    assert.equal(b.code, 0, b.stderr);
    const r = await kiln(['boot', '-C', other, '--set', 'boot.loader=none', '--expect', 'login:']);
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(errorLines(r.stderr), [`kiln: error: ${join(other, 'out/image.raw')} has no bootloader: its EFI system partition has no /EFI/BOOT/BOOTX64.EFI (boot.loader = "none", or the image had no systemd-boot)`]);
    assert.doesNotMatch(r.stderr, /booting/);
  });
});

/** The names in a PE file's section table (8 bytes each, NUL-padded when shorter). */
function peSectionNames(pe: Buffer): string[] {
  assert.equal(pe.toString('latin1', 0, 2), 'MZ');
  const at = pe.readUInt32LE(0x3c);
  const count = pe.readUInt16LE(at + 6);
  const table = at + 24 + pe.readUInt16LE(at + 20);
  return Array.from({ length: count }, (_, i) => pe.toString('latin1', table + i * 40, table + i * 40 + 8).replace(/\0+$/, ''));
}

/** QEMU processes of the test user still running. */
function leftRunning(): string {
  return spawnSync('pgrep', ['-u', TEST_USER, '-a', 'qemu-system'], { encoding: 'utf8' }).stdout.trim();
}
