/**
 * GRUB, as the unprivileged test user: Debian bookworm amd64 on the
 * x86_64-bios board (GPT, BIOS boot partition, GRUB from the image's own
 * grub-pc-bin) boots in QEMU with SeaBIOS to the serial console's login
 * prompt; its boot code is what the host's grub-bios-setup (the
 * independent oracle, run as root on a copy of the disk with kiln's boot
 * code wiped) writes; sgdisk finds the GPT clean; a second build gives the
 * same disk. Then the x86_64-uefi board with boot.loader = "grub" boots to
 * login too (OVMF, GRUB's BOOTX64.EFI). Build and boot times are in the
 * test output.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { closeSync, createReadStream, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageDir, integrationSkipReason, isRoot, kiln, TEST_USER } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { hostMirrorFor } from '../../src/catalog/index.ts';

const PASSWORD = 'kiln-grub-test';
const BIOS_SETUP = '/usr/lib/grub/i386-pc/grub-bios-setup';
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const skip = skipOrFail(
  integrationSkipReason() ??
    (hostMirrorFor('debian') ? undefined : 'the host has no Debian apt source to use as mirror') ??
    (has('qemu-system-x86_64') ? undefined : 'qemu-system-x86_64 missing: install qemu-system-x86') ??
    (has('sgdisk') && has('debugfs') ? undefined : 'sgdisk or debugfs missing: install gdisk and e2fsprogs') ??
    (spawnSync('test', ['-x', BIOS_SETUP]).status === 0 ? undefined : 'grub-bios-setup missing: install grub-pc-bin (the oracle for the boot code)'),
);

const toml = (board: string, extra = '') => `[distribution]
name = "debian"
release = "bookworm"

[board]
name = "${board}"

[packages]
base = "minimal"
${extra}
[system]
root-password = "${PASSWORD}"

[output]
format = ["disk"]
`;

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(0)} s`;

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

interface ManifestPartition {
  type: string;
  offset: number;
  size: number;
  filesystem: string;
}

function partitions(dir: string): ManifestPartition[] {
  const manifest = JSON.parse(readFileSync(join(dir, 'out/image.manifest.json'), 'utf8')) as { outputs: { details?: { partitions?: ManifestPartition[] } }[] };
  return manifest.outputs.find((o) => o.details?.partitions)!.details!.partitions!;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

async function build(dir: string, t: { diagnostic: (m: string) => void }, what: string): Promise<string> {
  const started = Date.now();
  const r = await kiln(['build', '-C', dir], { timeoutMs: 1_500_000 });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  t.diagnostic(`${what} build: ${seconds(started)}`);
  return r.stderr + r.stdout;
}

async function bootToLogin(dir: string, t: { diagnostic: (m: string) => void }, what: string): Promise<void> {
  const started = Date.now();
  const r = await kiln(['boot', '-C', dir, '--expect', 'login:', '--timeout', '900'], { timeoutMs: 1_000_000 });
  t.diagnostic(`${what} boot to login: ${seconds(started)} (${r.stderr.split('\n').find((l) => l.startsWith('kiln: booting')) ?? ''})`);
  assert.equal(r.code, 0, r.stderr + r.stdout.slice(-3000));
  assert.match(r.stdout, /login:/);
  assert.equal(spawnSync('pgrep', ['-u', TEST_USER, '-a', 'qemu-system'], { encoding: 'utf8' }).stdout.trim(), '', 'no QEMU left running');
}

describe('GRUB: Debian bookworm amd64, x86_64-bios (GRUB on GPT with a BIOS boot partition)', { skip }, () => {
  const dir = imageDir(toml('x86_64-bios'));
  let log = '';
  let built = false;

  before(async () => {
    log = await build(dir, { diagnostic: (m) => process.stderr.write(`# ${m}\n`) }, 'x86_64-bios');
    built = true;
  });

  test('kiln boot --expect login: SeaBIOS, GRUB and the kernel reach the serial console login prompt', async (t) => {
    assert.ok(built);
    assert.match(log, /\[boot\] grub: \S+-amd64; options root=UUID=\S+ rw console=ttyS0,115200; \d+ files in \/\S*; boot code at byte 0, core image in partition 1/);
    await bootToLogin(dir, t, 'x86_64-bios');
  });

  test("the disk's boot code is what the host's grub-bios-setup --no-rs-codes writes on a copy with it wiped; sgdisk -v finds no problem", { skip: isRoot ? undefined : 'the oracle needs root (a private mount namespace)' }, async () => {
    assert.ok(built);
    const disk = join(dir, 'out/image.raw');
    assert.match(run('sgdisk', ['-v', disk]), /No problems found/);
    const [bios, root] = partitions(dir);
    assert.equal(bios!.type, 'bios-boot');
    assert.equal(bios!.offset, 1024 * 1024);
    const work = mkdtempSync(join(tmpdir(), 'kiln-grub-oracle-'));
    try {
      // GRUB's images as the image has them (grub-install's copies in /boot/grub/i386-pc), read from the root filesystem.
      const rootImage = join(work, 'root.ext4');
      run('dd', [`if=${disk}`, `of=${rootImage}`, 'bs=1M', `skip=${root!.offset / 1048576}`, `count=${root!.size / 1048576}`, 'conv=sparse', 'status=none']);
      for (const name of ['boot.img', 'core.img']) run('debugfs', ['-R', `dump /boot/grub/i386-pc/${name} ${join(work, name)}`, rootImage]);
      rmSync(rootImage);
      const copy = join(work, 'copy.raw');
      run('cp', ['--sparse=always', disk, copy]);
      const fd = openSync(copy, 'r+');
      writeSync(fd, Buffer.alloc(440), 0, 440, 0);
      writeSync(fd, Buffer.alloc(bios!.size), 0, bios!.size, bios!.offset);
      closeSync(fd);
      assert.notEqual(await sha256(copy), await sha256(disk));
      // grub-bios-setup wants its directory on a device it can name: a tmpfs whose source is /dev/sda, with the copy bound at /dev/sda.
      const script = [
        'set -e',
        'mount -t tmpfs /dev/sda /dev',
        ': > /dev/sda',
        `mount --bind ${copy} /dev/sda`,
        'mkdir /dev/grub',
        `cp ${join(work, 'boot.img')} ${join(work, 'core.img')} /dev/grub/`,
        "printf '(hd0) /dev/sda\\n' > /dev/grub/device.map",
        `${BIOS_SETUP} --directory=/dev/grub --device-map=/dev/grub/device.map --no-rs-codes --skip-fs-probe '(hd0)'`,
      ].join('\n');
      run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script]);
      assert.equal(await sha256(copy), await sha256(disk), 'the whole disk is the same after grub-bios-setup rewrote its boot code');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  test('built again in another directory: the same disk, byte for byte', async (t) => {
    assert.ok(built);
    const again = imageDir(toml('x86_64-bios'));
    await build(again, t, 'x86_64-bios, second');
    assert.equal(await sha256(join(again, 'out/image.raw')), await sha256(join(dir, 'out/image.raw')));
    rmSync(join(again, 'out'), { recursive: true, force: true });
  });
});

describe('GRUB: Debian bookworm amd64, x86_64-uefi with boot.loader = "grub"', { skip: skip ?? (spawnSync('test', ['-r', '/usr/share/OVMF/OVMF_CODE_4M.fd']).status === 0 ? undefined : 'OVMF missing: install ovmf') }, () => {
  const dir = imageDir(toml('x86_64-uefi', '\n[boot]\nloader = "grub"\n').replace('base = "minimal"', 'base = "minimal"\ninstall = { add = ["grub-efi-amd64-bin"] }'));

  test('GRUB\'s BOOTX64.EFI in the ESP boots the kernel from /boot to the login prompt', async (t) => {
    const log = await build(dir, t, 'x86_64-uefi with GRUB');
    assert.match(log, /\[boot\] grub: \S+-amd64; options root=UUID=\S+ rw console=ttyS0,115200; \d+ files in \/\S*\n/);
    await bootToLogin(dir, t, 'x86_64-uefi with GRUB');
  });
});
