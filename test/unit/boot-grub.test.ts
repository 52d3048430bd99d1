/**
 * GRUB's pieces without a build: the BIOS boot code patched as
 * grub-bios-setup leaves it (on the host's own boot.img and a core.img the
 * host's grub-mkimage makes from /usr/lib/grub/i386-pc, package
 * grub-pc-bin), grub.cfg and the built-in config, where GRUB finds a file,
 * and which loader "auto" picks for a BIOS board.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { patchBootImage, patchCoreImage } from '../../src/boot/grub-bios-patch.ts';
import { embeddedConfigText, grubCfgText, serialConsole } from '../../src/boot/grub-config.ts';
import { biosBootPartition, grubPath } from '../../src/boot/grub-disk.ts';
import { withDiskPieces } from '../../src/boot/install.ts';
import { chooseLoader } from '../../src/boot/loaders.ts';
import { uki } from '../../src/boot/uki.ts';
import { BOARDS } from '../../src/catalog/index.ts';
import { Tree } from '../../src/tree/index.ts';
import type { DiskPartition } from '../../src/outputs/partition-plan.ts';
import { filesystemUuid } from '../../src/disk/seed.ts';

const I386 = '/usr/lib/grub/i386-pc';
const noGrub = existsSync(`${I386}/boot.img`) && spawnSync('sh', ['-c', 'command -v grub-mkimage']).status === 0 ? undefined : 'grub-pc-bin missing: install it (its boot.img and modules are the test data)';

test('boot.img: the core sector at 0x5c, NOPs over the drive check at 0x66, 0xff boot drive, the BPB from the disk, only 440 bytes', { skip: noGrub }, () => {
  const boot = readFileSync(`${I386}/boot.img`);
  const sector0 = Buffer.alloc(512);
  sector0.fill(0xab, 3, 0x5a);
  const patched = patchBootImage(boot, 2048, sector0);
  assert.equal(patched.length, 440);
  assert.equal(patched.readBigUInt64LE(0x5c), 2048n);
  assert.deepEqual([...patched.subarray(0x66, 0x68)], [0x90, 0x90]);
  assert.equal(patched[0x64], 0xff);
  assert.ok(patched.subarray(3, 0x5a).every((b) => b === 0xab), 'the BPB is the disk\'s');
  for (const [from, to] of [[0, 3], [0x5a, 0x5c], [0x64 + 1, 0x66], [0x68, 440]] as const) assert.deepEqual(patched.subarray(from, to), boot.subarray(from, to), `bytes ${from}..${to - 1} are boot.img's`);
  // The jump it replaces is a real two-byte jmp (0xeb) in the host's boot.img.
  assert.equal(boot[0x66], 0xeb);
});

test('core.img: padded to sectors, its block list naming the sectors after the first, segment 0x820, then a zero entry', { skip: noGrub }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-grub-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'load.cfg'), embeddedConfigText({ uuid: '0a1b2c3d-0000-4000-8000-000000000001', path: '/boot/grub' }));
  const r = spawnSync('grub-mkimage', ['-d', I386, '-O', 'i386-pc', '-o', join(dir, 'core.img'), '-p', '/boot/grub', '-c', join(dir, 'load.cfg'), 'biosdisk', 'part_gpt', 'ext2', 'search_fs_uuid'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const core = readFileSync(join(dir, 'core.img'));
  const sectors = Math.ceil(core.length / 512);
  const patched = patchCoreImage(core, 2048);
  assert.equal(patched.length, sectors * 512);
  assert.equal(patched.readBigUInt64LE(500), 2049n);
  assert.equal(patched.readUInt16LE(508), sectors - 1);
  assert.equal(patched.readUInt16LE(510), 0x820);
  assert.ok(patched.subarray(488, 500).every((b) => b === 0), 'the entry below is the end of the list');
  assert.deepEqual(patched.subarray(0, 488), core.subarray(0, 488));
  assert.deepEqual(patched.subarray(512, core.length), core.subarray(512));
  assert.ok(patched.subarray(core.length).every((b) => b === 0));
  // Elsewhere on the disk: only the start moves.
  assert.equal(patchCoreImage(core, 1).readBigUInt64LE(500), 2n);
});

test('grub.cfg: serial console from console=ttyS0, short timeout, an entry per kernel finding its filesystem by UUID', () => {
  const uuid = '11111111-2222-4333-8444-555555555555';
  const text = grubCfgText(
    [
      { title: 'Debian GNU/Linux 12 (bookworm), Linux 6.1.0-9-amd64', id: 'debian-6.1.0-9-amd64', kernel: { uuid, path: '/boot/vmlinuz-6.1.0-9-amd64' }, initrd: { uuid, path: '/boot/initrd.img-6.1.0-9-amd64' } },
      { title: "It's old", id: 'debian-5', kernel: { uuid, path: '/boot/vmlinuz-5' } },
    ],
    `root=UUID=${uuid} rw console=ttyS0,115200`,
  );
  assert.match(text, /^serial --unit=0 --speed=115200\nterminal_input serial console\nterminal_output serial console\nset timeout=1\nset default=0\n/m);
  assert.match(text, new RegExp(`menuentry 'Debian GNU/Linux 12 \\(bookworm\\), Linux 6.1.0-9-amd64' --id 'debian-6.1.0-9-amd64' \\{\\n\\tsearch --no-floppy --fs-uuid --set=root ${uuid}\\n\\tlinux /boot/vmlinuz-6.1.0-9-amd64 root=UUID=${uuid} rw console=ttyS0,115200\\n\\tinitrd /boot/initrd.img-6.1.0-9-amd64\\n\\}`));
  assert.match(text, /menuentry 'It'\\''s old' --id 'debian-5' \{\n\tsearch [^\n]+\n\tlinux \/boot\/vmlinuz-5 [^\n]+\n\}/);
  assert.doesNotMatch(grubCfgText([], 'rw'), /serial/);
  assert.deepEqual(serialConsole('console=tty0 console=ttyS1,57600n8'), { unit: 1, speed: 57600 });
  assert.equal(embeddedConfigText({ uuid, path: '/grub' }), `search.fs_uuid ${uuid} root\nset prefix=($root)'/grub'\n`);
});

const part = (number: number, type: string, mount: string | undefined, filesystem: DiskPartition['filesystem'], offset?: number): DiskPartition => ({
  number,
  spec: { type, size: 'auto', ...(offset !== undefined ? { offset } : {}) },
  filesystem,
  ...(mount ? { mount, contents: mount } : {}),
  headroom: '20%',
  describe: `partition ${number} (${type})`,
});

test('GRUB finds a file on the filesystem of the deepest mount above it; the BIOS boot partition first or at its offset', () => {
  const seed = 'seed';
  const partitions = [part(1, 'bios-boot', undefined, 'none'), part(2, 'root', '/', 'ext4'), part(3, 'xbootldr', '/boot', 'vfat')];
  assert.deepEqual(grubPath({ partitions, seed }, '/etc/x'), { uuid: filesystemUuid(seed, 2), path: '/etc/x' });
  const onBoot = grubPath({ partitions, seed }, '/boot/grub');
  assert.equal(onBoot.path, '/grub');
  assert.match(onBoot.uuid, /^[0-9A-F]{4}-[0-9A-F]{4}$/);
  assert.deepEqual(biosBootPartition({ partitions, alignment: 1024 * 1024 }), { number: 1, sector: 2048 });
  assert.deepEqual(biosBootPartition({ partitions, alignment: 4096 }), { number: 1, sector: 40 });
  assert.deepEqual(biosBootPartition({ partitions: [part(1, 'root', '/', 'ext4'), part(2, 'bios-boot', undefined, 'none', 3 * 1024 * 1024)], alignment: 1024 * 1024 }), { number: 2, sector: 6144 });
  assert.throws(() => biosBootPartition({ partitions: [part(1, 'root', '/', 'ext4'), part(2, 'bios-boot', undefined, 'none')], alignment: 1024 * 1024 }), /offset/);
});

test('the raw pieces become a [[blob]] and the BIOS boot partition\'s image, named from the image directory', () => {
  const config = { 'disk.blobs': [], 'disk.partitions': [{ type: 'bios-boot', size: 1048576 }, { type: 'root' }] } as never;
  const out = withDiskPieces(config, [
    { kind: 'blob', offset: 0, file: '/img/out/.t/mbr' },
    { kind: 'partition-image', number: 1, file: '/img/out/.t/core' },
  ], '/img') as unknown as { 'disk.blobs': unknown[]; 'disk.partitions': Record<string, unknown>[] };
  assert.deepEqual(out['disk.blobs'], [{ file: 'out/.t/mbr', offset: 0 }]);
  assert.deepEqual(out['disk.partitions'], [{ type: 'bios-boot', size: 1048576, image: 'out/.t/core' }, { type: 'root' }]);
  assert.equal(withDiskPieces(config, [], '/img'), config);
});

test('boot.loader = "auto": GRUB on the BIOS board, systemd-boot before GRUB on the UEFI board, GRUB when only it is there', () => {
  const root = mkdtempSync(join(tmpdir(), 'kiln-grub-auto-'));
  try {
    const tree = new Tree(root);
    const disk = { table: 'gpt' as const, alignment: 1048576, seed: 's', partitions: [part(1, 'bios-boot', undefined, 'none', 1048576), part(2, 'root', '/', 'ext4')], piecesDirectory: root, addPiece: () => undefined };
    const base = { tree, machine: 'x86_64', sourceDateEpoch: 0, disk };
    assert.match(String((chooseLoader('auto', BOARDS['x86_64-bios'], base) as { why: string }).why), /i386-pc\/boot\.img \(grub-pc-bin\)/);
    tree.mkdir('/usr/lib/grub/i386-pc');
    tree.write('/usr/lib/grub/i386-pc/boot.img', Buffer.alloc(512));
    assert.equal(chooseLoader('auto', BOARDS['x86_64-bios'], base).loader?.name, 'grub');
    const uefi = { tree, machine: 'x86_64', sourceDateEpoch: 0, espDirectory: '/efi', disk: { ...disk, partitions: [part(1, 'esp', '/efi', 'vfat'), part(2, 'root', '/', 'ext4')] } };
    assert.equal(chooseLoader('auto', BOARDS['x86_64-uefi'], uefi).loader, undefined);
    tree.mkdir('/usr/lib/grub/x86_64-efi');
    tree.write('/usr/lib/grub/x86_64-efi/kernel.img', 'x');
    assert.equal(chooseLoader('auto', BOARDS['x86_64-uefi'], uefi).loader?.name, 'grub');
    tree.mkdir('/usr/lib/systemd/boot/efi');
    tree.write('/usr/lib/systemd/boot/efi/systemd-bootx64.efi', 'x');
    assert.equal(chooseLoader('auto', BOARDS['x86_64-uefi'], uefi).loader?.name, 'systemd-boot');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

const STUB = '/usr/lib/systemd/boot/efi/linuxx64.efi.stub';
const noStub = existsSync(STUB) && spawnSync('sh', ['-c', 'command -v objcopy && command -v objdump']).status === 0 ? undefined : 'systemd-boot-efi or binutils missing: install them (the stub is the test data)';

test('boot.loader = "uki": the stub with .osrel .cmdline .uname .initrd .linux past its sections, page-aligned, in EFI/Linux and at BOOTX64.EFI; the same bytes twice', { skip: noStub }, (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kiln-uki-unit-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const tree = new Tree(join(root, 'tree'));
  mkdirSync(join(root, 'tree'));
  tree.mkdir('/usr/lib/systemd/boot/efi');
  tree.write('/usr/lib/systemd/boot/efi/linuxx64.efi.stub', readFileSync(STUB));
  tree.mkdir('/etc');
  tree.write('/etc/os-release', 'ID=debian\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n');
  tree.mkdir('/boot');
  const kernelBytes = Buffer.alloc(300_000, 0x4b);
  tree.write('/boot/vmlinuz-6.1.0-9-amd64', kernelBytes);
  tree.write('/boot/initrd.img-6.1.0-9-amd64', Buffer.alloc(70_000, 0x49));
  tree.mkdir('/efi');
  const disk = { table: 'gpt' as const, alignment: 1048576, seed: 's', partitions: [part(1, 'esp', '/efi', 'vfat'), part(2, 'root', '/', 'ext4')], piecesDirectory: join(root, 'pieces'), addPiece: () => undefined };
  const setup = { tree, machine: 'x86_64', sourceDateEpoch: 1_700_000_000, espDirectory: '/efi', disk, cmdline: 'root=UUID=x rw console=ttyS0,115200', kernels: [{ version: '6.1.0-9-amd64', kernel: '/boot/vmlinuz-6.1.0-9-amd64', initrd: '/boot/initrd.img-6.1.0-9-amd64' }] };
  assert.equal(uki.missing(setup), undefined);
  const written = uki.install(setup);
  assert.deepEqual(written.sort(), ['/efi/EFI/BOOT/BOOTX64.EFI', '/efi/EFI/Linux/debian-6.1.0-9-amd64.efi']);
  const file = tree.hostPath('/efi/EFI/Linux/debian-6.1.0-9-amd64.efi');
  const first = readFileSync(file);
  assert.deepEqual(readFileSync(tree.hostPath('/efi/EFI/BOOT/BOOTX64.EFI')), first);
  const headers = run('objdump', ['-h', file]);
  assert.match(headers, /file format pei-x86-64/);
  const sections = [...headers.matchAll(/^\s*\d+ (\.\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)/gm)].map((m) => ({ name: m[1]!, size: parseInt(m[2]!, 16), vma: parseInt(m[3]!, 16) }));
  const names = sections.map((s) => s.name);
  assert.deepEqual(names.slice(-5), ['.osrel', '.cmdline', '.uname', '.initrd', '.linux']);
  const stubEnd = Math.max(...sections.slice(0, -5).map((s) => s.vma + s.size));
  let previousEnd = stubEnd;
  for (const s of sections.slice(-5)) {
    assert.equal(s.vma % 4096, 0, `${s.name} starts on a page`);
    assert.ok(s.vma >= previousEnd, `${s.name} starts after what comes before it`);
    previousEnd = s.vma + s.size;
  }
  assert.equal(sections.find((s) => s.name === '.linux')!.size, kernelBytes.length);
  const cmdline = join(root, 'cmdline');
  run('objcopy', ['-O', 'binary', '--only-section=.cmdline', file, cmdline]);
  assert.equal(readFileSync(cmdline, 'utf8'), 'root=UUID=x rw console=ttyS0,115200\n');
  uki.install(setup);
  assert.deepEqual(readFileSync(file), first, 'made again: the same bytes');
});

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
  return r.stdout;
}
