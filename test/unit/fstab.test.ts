import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, symlinkSync, utimesSync, writeFileSync, readdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { filesystemUuid, mbrSignature, partitionGuid } from '../../src/disk/seed.ts';
import { fstabEntries, fstabText, rootIdentifiers, writeFstab } from '../../src/outputs/fstab.ts';
import { ensureMountPoints, stageContents } from '../../src/outputs/partition-stage.ts';

const MIRROR = 'http://127.0.0.1:9/debian';
const BASE = `[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "amd64"\nmirror = "${MIRROR}"\n`;

function configOf(toml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-fstab-'));
  writeFileSync(join(dir, 'kiln.toml'), `${BASE}${toml}`);
  return loadConfig({ dir, env: {} }).config;
}

const LAYOUT = `[disk]\nseed = "fstab test"\n
[[partition]]\ntype = "esp"\nsize = "256M"\n
[[partition]]\ntype = "root"\n
[[partition]]\ntype = "swap"\nsize = "1G"\n
[[partition]]\ntype = "var"\nfilesystem = "btrfs"\n
[[partition]]\ntype = "home"\nmount-options = "defaults,noatime"\n
[[partition]]\ntype = "linux-generic"\ncontents = "/var/lib/db"\nfilesystem = "erofs"\n
[[partition]]\ntype = "bios-boot"\nsize = "1M"\n`;

test('one line per mount point, root first, then by depth; swap last; UUIDs from the seed as each filesystem names them', () => {
  const config = configOf(LAYOUT);
  const seed = 'fstab test';
  const vfatId = filesystemUuid(seed, 1).slice(0, 8).toUpperCase();
  assert.deepEqual(fstabEntries(config), [
    { spec: `UUID=${filesystemUuid(seed, 2)}`, file: '/', type: 'ext4', options: 'defaults', pass: 1 },
    { spec: `UUID=${vfatId.slice(0, 4)}-${vfatId.slice(4)}`, file: '/efi', type: 'vfat', options: 'umask=0077', pass: 1 },
    { spec: `UUID=${filesystemUuid(seed, 5)}`, file: '/home', type: 'ext4', options: 'defaults,noatime', pass: 2 },
    { spec: `UUID=${filesystemUuid(seed, 4)}`, file: '/var', type: 'btrfs', options: 'defaults', pass: 0 },
    { spec: `UUID=${filesystemUuid(seed, 6)}`, file: '/var/lib/db', type: 'erofs', options: 'defaults', pass: 0 },
    { spec: `UUID=${filesystemUuid(seed, 3)}`, file: 'none', type: 'swap', options: 'sw', pass: 0 },
  ]);
  const text = fstabText(fstabEntries(config));
  assert.match(text, /^# <file system> +<mount point> +<type> +<options> +<dump> +<pass>$/m);
  assert.match(text, new RegExp(`^UUID=${filesystemUuid(seed, 2)} +/ +ext4 +defaults +0 +1$`, 'm'));
  assert.equal(text.split('\n').filter((l) => l && !l.startsWith('#')).length, 6);
});

test('PARTUUID=: the GPT partition GUID, or the MBR signature and number; rootIdentifiers agrees without a tree', () => {
  const gpt = configOf(`${LAYOUT}\n[disk.x]\n`.replace('[disk.x]\n', '').replace('seed = "fstab test"', 'seed = "fstab test"\nfstab = "partuuid"'));
  assert.equal(fstabEntries(gpt)[0]!.spec, `PARTUUID=${partitionGuid('fstab test', 2)}`);
  assert.deepEqual(rootIdentifiers(gpt), { partition: 2, filesystemUuid: filesystemUuid('fstab test', 2), partUuid: partitionGuid('fstab test', 2), filesystem: 'ext4' });
  const mbr = configOf('[disk]\ntable = "mbr"\nseed = "pi"\nfstab = "partuuid"\n[[partition]]\ntype = "0x0c"\ncontents = "/boot/firmware"\n[[partition]]\ntype = "root"\n');
  const signature = mbrSignature('pi').toString(16).padStart(8, '0');
  assert.deepEqual(fstabEntries(mbr).map((e) => [e.spec, e.file, e.type]), [
    [`PARTUUID=${signature}-02`, '/', 'ext4'],
    [`PARTUUID=${signature}-01`, '/boot/firmware', 'vfat'],
  ]);
  assert.equal(rootIdentifiers(mbr)?.partUuid, `${signature}-02`);
  // squashfs has no UUID of its own: it is named by its partition, in fstab and for root=.
  const squash = configOf('[disk]\nseed = "sq"\n[[partition]]\ntype = "root"\nfilesystem = "squashfs"\n');
  assert.equal(fstabEntries(squash)[0]!.spec, `PARTUUID=${partitionGuid('sq', 1)}`);
  assert.equal(rootIdentifiers(squash)?.filesystemUuid, undefined);
  const pinned = configOf('[[partition]]\ntype = "root"\nuuid = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"\n');
  assert.equal(rootIdentifiers(pinned)?.partUuid, '0fc63daf-8483-4772-8e79-3d69d8477de4');
  assert.equal(rootIdentifiers(configOf('')), undefined);
  assert.deepEqual(fstabEntries(configOf('[disk]\nfstab = "none"\n[[partition]]\ntype = "root"\n')), []);
});

test('writeFstab replaces a symlinked /etc/fstab inside the tree instead of following it out, and keeps /etc\'s times', () => {
  const base = mkdtempSync(join(tmpdir(), 'kiln-fstab-tree-'));
  const root = join(base, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(base, 'outside'), 'host file\n');
  symlinkSync('../../outside', join(root, 'etc/fstab'));
  utimesSync(join(root, 'etc'), 1000, 1000);
  assert.equal(writeFstab(root, configOf('[[partition]]\ntype = "root"\n'), 1234), true);
  assert.equal(readFileSync(join(base, 'outside'), 'utf8'), 'host file\n');
  const st = lstatSync(join(root, 'etc/fstab'));
  assert.ok(st.isFile());
  assert.equal(st.mode & 0o7777, 0o644);
  assert.equal(st.mtimeMs, 1234_000);
  assert.equal(lstatSync(join(root, 'etc')).mtimeMs, 1000_000);
  assert.match(readFileSync(join(root, 'etc/fstab'), 'utf8'), /^UUID=\S+ +\/ +ext4 /m);
  assert.equal(writeFstab(root, configOf(''), 1234), false);
});

/** Every entry below `dir` with its type, mode, owner, size and times, for comparing a tree before and after (not access times: reading a directory changes them). */
function snapshot(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  const st = lstatSync(dir);
  out.push(`${prefix || '/'} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs}`);
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const s = lstatSync(path);
    if (s.isDirectory()) out.push(...snapshot(path, `${prefix}/${name}`));
    else out.push(`${prefix}/${name} ${s.mode.toString(8)} ${s.size} ${s.mtimeMs} ${s.isSymbolicLink() ? readlinkSync(path) : ''}`);
  }
  return out;
}

test('staging hands each partition its subtree, leaves empty mount points with their mode and times, and puts the tree back exactly', () => {
  const base = mkdtempSync(join(tmpdir(), 'kiln-stage-'));
  const root = join(base, 'root');
  for (const d of ['boot/efi/EFI', 'etc', 'usr/bin']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'boot/vmlinuz'), 'kernel');
  writeFileSync(join(root, 'boot/efi/EFI/boot.efi'), 'loader');
  writeFileSync(join(root, 'usr/bin/sh'), 'shell');
  symlinkSync('usr/bin', join(root, 'bin'));
  chmodSync(join(root, 'boot/efi'), 0o700);
  for (const d of ['', 'boot', 'boot/efi', 'boot/efi/EFI', 'etc', 'usr', 'usr/bin']) utimesSync(join(root, d), 5000, 6000);
  const before = snapshot(root);
  const work = join(base, 'work');
  mkdirSync(work);
  const staged = stageContents(root, work, [
    { contents: '/', who: 'root' },
    { contents: '/boot/efi', who: 'esp' },
    { contents: '/boot', who: 'xbootldr' },
  ]);
  assert.deepEqual(readdirSync(staged.source('/')).sort(), ['bin', 'boot', 'etc', 'usr']);
  assert.deepEqual(readdirSync(join(root, 'boot')), []);
  assert.deepEqual(readdirSync(staged.source('/boot')).sort(), ['efi', 'vmlinuz']);
  assert.deepEqual(readdirSync(join(staged.source('/boot'), 'efi')), []);
  assert.equal(lstatSync(join(staged.source('/boot'), 'efi')).mode & 0o7777, 0o700);
  assert.equal(lstatSync(join(staged.source('/boot'), 'efi')).mtimeMs, 6000_000);
  assert.equal(lstatSync(root).mtimeMs, 6000_000);
  assert.deepEqual(readdirSync(staged.source('/boot/efi')), ['EFI']);
  staged.restore();
  assert.deepEqual(snapshot(root), before);
  assert.deepEqual(readdirSync(work), []);
});

test('a contents path through a symlink is refused; a missing mount point is made at SOURCE_DATE_EPOCH, its parent keeping its times', () => {
  const base = mkdtempSync(join(tmpdir(), 'kiln-stage-'));
  const root = join(base, 'root');
  mkdirSync(join(root, 'usr/lib'), { recursive: true });
  symlinkSync('usr/lib', join(root, 'lib'));
  utimesSync(root, 5000, 6000);
  mkdirSync(join(base, 'work'));
  assert.throws(() => stageContents(root, join(base, 'work'), [{ contents: '/lib/modules', who: 'partition 2 (linux-generic, ext4)' }]), /partition 2 \(linux-generic, ext4\): \/lib\/modules is not a directory in the image \(\/lib is a symlink\)/);
  assert.throws(() => ensureMountPoints(root, [{ path: '/lib/firmware', who: 'partition 1 (0x0c, vfat)' }], 7), /\/lib is a symlink/);
  ensureMountPoints(root, [{ path: '/efi', who: 'esp' }, { path: '/boot/firmware', who: 'boot' }], 7000);
  for (const d of ['efi', 'boot', 'boot/firmware']) {
    const st = lstatSync(join(root, d));
    assert.ok(st.isDirectory());
    assert.equal(st.mode & 0o7777, 0o755);
    assert.equal(st.mtimeMs, 7000_000);
  }
  assert.equal(lstatSync(root).mtimeMs, 6000_000);
});
