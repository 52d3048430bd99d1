/**
 * kiln diff's filesystem-image and disk readers on small generated images:
 * mke2fs -d, mksquashfs and mkfs.erofs make images from a tree (each reader
 * lists what the directory reader lists: lost+found aside, squashfs without
 * xattrs), mkfs.vfat and mcopy a FAT image, sgdisk makes the GPT around
 * them, qemu-img the qcow2; the changes are grouped by package from the
 * root partition's database and the partition table's differences are
 * reported first.
 */
import assert from 'node:assert/strict';
import { chmodSync, linkSync, mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { diffImages, formatTextReport, listInput } from '../../src/diff/index.ts';
import { have, run, tempDir } from '../fixtures/archive-helpers.ts';

const skip = ['mke2fs', 'debugfs', 'sgdisk', 'qemu-img', 'setfattr'].find((c) => !have(c));
const skipNew = ['mksquashfs', 'unsquashfs', 'mkfs.erofs', 'mkfs.vfat', 'mcopy', 'sgdisk', 'setfattr'].find((c) => !have(c));

function put(root: string, path: string, text: string, mode = 0o644): void {
  const abs = join(root, path);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, text);
  chmodSync(abs, mode);
}

const STANZA = (name: string) => `Package: ${name}\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n\n`;

/** A Debian-like tree; `hello` adds one package with its files. */
function tree(t: TestContext, hello: boolean): string {
  const root = join(tempDir(t, 'diff-fs-tree'), 'root');
  put(root, 'etc/os-release', 'NAME=Debian\n');
  put(root, 'etc/fstab', 'PARTUUID=00000000-0000-4000-8000-000000000001 /boot/efi vfat defaults 0 2\n');
  put(root, 'usr/bin/tool', '\x7fELF tool\0', 0o755);
  linkSync(join(root, 'usr/bin/tool'), join(root, 'usr/bin/tool2'));
  symlinkSync('x'.repeat(120), join(root, 'usr/bin/long-link'));
  symlinkSync('tool', join(root, 'usr/bin/short-link'));
  run('setfattr', ['-n', 'user.note', '-v', 'hello', join(root, 'usr/bin/tool')]);
  put(root, 'var/lib/dpkg/info/base.list', '/.\n/etc\n/etc/os-release\n/usr/bin/tool\n/usr/bin/tool2\n');
  let status = STANZA('base');
  if (hello) {
    put(root, 'usr/bin/hello', '\x7fELF hello\0', 0o755);
    put(root, 'var/lib/dpkg/info/hello.list', '/.\n/usr/bin\n/usr/bin/hello\n');
    status += STANZA('hello');
  }
  put(root, 'var/lib/dpkg/status', status);
  run('find', [root, '-exec', 'touch', '-h', '-d', '@1700000000', '{}', '+']);
  run('touch', ['-d', '@1600000000', join(root, 'etc/os-release')]);
  return root;
}

function ext4Of(t: TestContext, root: string): string {
  const image = join(tempDir(t, 'diff-fs-ext4'), 'image.ext4');
  run('mke2fs', ['-q', '-t', 'ext4', '-U', '11111111-2222-4333-8444-555555555555', '-E', 'hash_seed=11111111-2222-4333-8444-555555555555', '-d', root, image, '8M'], { env: { ...process.env, E2FSPROGS_FAKE_TIME: '1700000000' } });
  return image;
}

/** `owned`: every path owned by 1000:100 instead. */
function squashfsOf(t: TestContext, root: string, owned = false): string {
  const image = join(tempDir(t, 'diff-fs-squashfs'), 'image.squashfs');
  run('mksquashfs', [root, image, '-noappend', '-quiet', '-no-progress', '-mkfs-time', '1700000000', ...(owned ? ['-force-uid', '1000', '-force-gid', '100'] : [])]);
  return image;
}

function erofsOf(t: TestContext, root: string, owned = false): string {
  const image = join(tempDir(t, 'diff-fs-erofs'), 'image.erofs');
  run('mkfs.erofs', ['--quiet', '-U11111111-2222-4333-8444-555555555555', ...(owned ? ['--force-uid=1000', '--force-gid=100'] : []), image, root]);
  return image;
}

/** An ESP-like tree; `changed` edits a file's content and another's time. */
function espTree(t: TestContext, changed: boolean): string {
  const root = join(tempDir(t, 'diff-fs-esp'), 'esp');
  put(root, 'EFI/BOOT/BOOTX64.EFI', 'MZ'.padEnd(70000, '\0'));
  put(root, 'loader/entries/Debian Linux.conf', changed ? 'title Debian\nlinux /vmlinuz quiet\n' : 'title Debian\nlinux /vmlinuz\n');
  put(root, 'loader/loader.conf', 'timeout 0\n');
  run('find', [root, '-exec', 'touch', '-h', '-d', '@1700000000', '{}', '+']);
  if (changed) run('touch', ['-d', '@1700000100', join(root, 'loader/loader.conf')]);
  return root;
}

/** A FAT image of `root`, as kiln's vfat output makes one: mkfs.vfat with a fixed volume id, mcopy -m with the times in UTC. */
function vfatOf(t: TestContext, root: string, size = '2M'): string {
  const image = join(tempDir(t, 'diff-fs-vfat'), 'image.vfat');
  run('truncate', ['-s', size, image]);
  run('mkfs.vfat', ['--invariant', '-i', '12345678', image]);
  run('mcopy', ['-s', '-m', '-i', image, join(root, 'EFI'), join(root, 'loader'), '::/'], { env: { ...process.env, TZ: 'UTC', MTOOLS_SKIP_CHECK: '1' } });
  return image;
}

/** A GPT disk: a 1 MiB partition 1 (unformatted, or the `esp` image), the root filesystem image as partition 2; `guids` fixes every GUID. */
function diskOf(t: TestContext, rootImage: string, guids: string, esp?: string): string {
  const disk = join(tempDir(t, 'diff-fs-disk'), 'image.raw');
  run('truncate', ['-s', '12M', disk]);
  run('sgdisk', ['-n', '1:2048:+1M', '-n', '2:4096:+8M', '-t', '1:ef00', '-t', '2:8304', '-U', `${guids}0`, '-u', `1:${guids}1`, '-u', `2:${guids}2`, disk]);
  if (esp) run('dd', [`if=${esp}`, `of=${disk}`, 'bs=512', 'seek=2048', 'conv=notrunc', 'status=none']);
  run('dd', [`if=${rootImage}`, `of=${disk}`, 'bs=512', 'seek=4096', 'conv=notrunc', 'status=none']);
  return disk;
}

/** A tree's entries without its root, each as sorted-key JSON, for comparing two readers' listings. */
const entriesOf = (l: Map<string, object>, drop: readonly string[] = []) =>
  [...l.entries()].filter(([p]) => p !== '.').map(([, e]) => JSON.stringify(Object.fromEntries(Object.entries(e).filter(([k]) => !drop.includes(k)).sort()))).sort();

/** Edits a tree the way the change tests look for: a file's content, another's mode, a symlink's target. */
function edit(root: string): void {
  put(root, 'etc/os-release', 'NAME=Debian GNU/Linux\n');
  chmodSync(join(root, 'usr/bin/tool'), 0o700);
  rmSync(join(root, 'usr/bin/short-link'));
  symlinkSync('tool2', join(root, 'usr/bin/short-link'));
  run('touch', ['-h', '-d', '@1700000000', join(root, 'usr/bin/short-link'), join(root, 'usr/bin')]);
  run('touch', ['-d', '@1600000000', join(root, 'etc/os-release')]);
}

test('an ext4 image lists as the tree it was made from: owners, modes, times, xattrs, hard links and long symlinks', { skip }, async (t) => {
  const root = tree(t, false);
  const [dir, ext4] = [await listInput(root), await listInput(ext4Of(t, root))];
  try {
    const without = (l: typeof dir.listing) => [...l.values()].filter((e) => e.path !== '.').map((e) => JSON.stringify(e, Object.keys(e).sort())).sort();
    assert.deepEqual(without(ext4.listing), without(dir.listing));
    assert.equal(ext4.listing.get('usr/bin/long-link')?.target, 'x'.repeat(120));
    assert.equal(ext4.listing.get('usr/bin/tool')?.xattrs, `user.note=${Buffer.from('hello').toString('hex')}`);
    assert.equal(ext4.listing.get('usr/bin/tool2')?.sha256, ext4.listing.get('usr/bin/tool')?.sha256);
  } finally {
    await dir.dispose();
    await ext4.dispose();
  }
});

test('two ext4 images one package apart: the package, its files; identical ones are identical', { skip }, async (t) => {
  const a = ext4Of(t, tree(t, false));
  const b = ext4Of(t, tree(t, true));
  const report = await diffImages(a, b);
  const hello = report.groups.find((g) => g.name === 'hello');
  assert.equal(hello?.status, 'added');
  assert.deepEqual(hello?.changes.map((c) => c.path), ['usr/bin/hello']);
  assert.equal((await diffImages(a, ext4Of(t, tree(t, false)))).identical, true);
});

test('disk images by partition: the table first, then the root partition by package; qcow2 reads as its raw disk', { skip }, async (t) => {
  const a = diskOf(t, ext4Of(t, tree(t, false)), '00000000-0000-4000-8000-00000000000');
  const b = diskOf(t, ext4Of(t, tree(t, true)), '00000000-0000-4000-8000-00000000000');
  const c = diskOf(t, ext4Of(t, tree(t, false)), '99999999-0000-4000-8000-00000000000');
  const ab = await diffImages(a, b);
  assert.deepEqual(ab.header, { removed: [], added: [] });
  assert.deepEqual(ab.groups.find((g) => g.name === 'hello')?.changes.map((c) => c.path), ['usr/bin/hello']);
  const ac = await diffImages(a, c);
  assert.equal(ac.identical, false);
  assert.deepEqual(ac.groups, [], 'the same files');
  assert.deepEqual(ac.header.removed, ['gpt disk GUID 00000000-0000-4000-8000-000000000000', 'partition 1: start 1048576 size 1048576 type c12a7328-f81f-11d2-ba4b-00a0c93ec93b GUID 00000000-0000-4000-8000-000000000001', 'partition 2: start 2097152 size 8388608 type 4f68bce3-e8cd-4db1-96e7-fbcaf984b709 GUID 00000000-0000-4000-8000-000000000002']);
  assert.match(formatTextReport(ac), /^partition table:\n {2}- gpt disk GUID 0{8}-/m);
  // Partition 1 is no filesystem: compared whole, by digest.
  const listed = await listInput(a);
  try {
    assert.equal(listed.listing.get('.partitions/1')?.size, 1048576);
    assert.equal(listed.listing.get('etc/os-release')?.type, 'file');
  } finally {
    await listed.dispose();
  }
  const qcow2 = join(tempDir(t, 'diff-fs-qcow2'), 'image.qcow2');
  run('qemu-img', ['convert', '-O', 'qcow2', a, qcow2]);
  assert.equal((await diffImages(a, qcow2)).identical, true);
});

for (const [name, imageOf, unread] of [
  ['squashfs', squashfsOf, ['xattrs', 'unread']],
  ['erofs', erofsOf, []],
] as const) {
  test(`a ${name} image lists as the tree it was made from${unread.length ? ' (xattrs unread)' : ', xattrs too'}; a change in content, mode and a symlink is found; identical images are identical`, { skip: skipNew }, async (t) => {
    const root = tree(t, false);
    const [dir, image] = [await listInput(root), await listInput(imageOf(t, root))];
    try {
      assert.deepEqual(entriesOf(image.listing, unread), entriesOf(dir.listing, unread.length ? ['xattrs'] : []));
      assert.equal(image.listing.get('usr/bin/long-link')?.target, 'x'.repeat(120));
      assert.equal(image.listing.get('usr/bin/tool2')?.sha256, image.listing.get('usr/bin/tool')?.sha256);
      if (!unread.length) assert.equal(image.listing.get('usr/bin/tool')?.xattrs, `user.note=${Buffer.from('hello').toString('hex')}`);
    } finally {
      await dir.dispose();
      await image.dispose();
    }
    const a = imageOf(t, root);
    assert.equal((await diffImages(a, imageOf(t, tree(t, false)))).identical, true);
    const owned = await diffImages(a, imageOf(t, root, true));
    const ownerChanges = owned.groups.flatMap((g) => g.changes);
    assert.equal(ownerChanges.length, dir.listing.size);
    assert.ok(ownerChanges.every((c) => c.aspects.join() === 'owner' && c.b?.uid === 1000 && c.b.gid === 100));
    const changedRoot = tree(t, false);
    edit(changedRoot);
    const report = await diffImages(a, imageOf(t, changedRoot));
    const changes = report.groups.flatMap((g) => g.changes.map((c) => [c.path, c.aspects.join(',')]));
    assert.deepEqual(Object.fromEntries(changes), { 'etc/os-release': 'content', 'usr/bin/short-link': 'target', 'usr/bin/tool': 'mode', 'usr/bin/tool2': 'mode' });
    assert.match(report.textDiffs.get('etc/os-release') ?? '', /^\+NAME=Debian GNU\/Linux$/m);
    assert.equal(report.groups.find((g) => g.changes.some((c) => c.path === 'usr/bin/tool'))?.name, 'base');
  });
}

test('a vfat image lists its long and short names, sizes, digests and 2-second UTC times; owners and modes are unread, not invented', { skip: skipNew }, async (t) => {
  const root = espTree(t, false);
  const image = vfatOf(t, root);
  const listed = await listInput(image);
  try {
    const dir = await listInput(root);
    try {
      const same = (e: { type: string; size: number; mtime: number; sha256?: string }) => [e.type, e.size, e.mtime, e.sha256];
      assert.deepEqual([...listed.listing.keys()].sort(), [...dir.listing.keys()].sort());
      for (const [path, e] of dir.listing) if (path !== '.') assert.deepEqual(same(listed.listing.get(path) as typeof e), same(e), path);
    } finally {
      await dir.dispose();
    }
    assert.deepEqual(listed.listing.get('loader/loader.conf')?.unread, ['owner', 'mode', 'xattrs']);
    assert.equal(statSync(image).size, 2 * 1024 * 1024);
  } finally {
    await listed.dispose();
  }
  assert.equal((await diffImages(image, vfatOf(t, espTree(t, false)))).identical, true);
  // Against the tree it was made from: no owner or mode differences, only what FAT cannot store is left out.
  assert.equal((await diffImages(root, image, { ignore: new Set(['time']) })).identical, true);
  const report = await diffImages(image, vfatOf(t, espTree(t, true)));
  const changes = report.groups.flatMap((g) => g.changes.map((c) => [c.path, c.aspects.join(',')]));
  assert.deepEqual(Object.fromEntries(changes), { 'loader/entries/Debian Linux.conf': 'content', 'loader/loader.conf': 'time' });
  assert.match(report.textDiffs.get('loader/entries/Debian Linux.conf') ?? '', /^\+linux \/vmlinuz quiet$/m);
  // A larger FAT32 one reads alike (FAT12 above).
  assert.equal((await diffImages(image, vfatOf(t, root, '40M'))).identical, true);
});

test('a disk with a vfat ESP and a squashfs or erofs root is diffed by partition: the ESP at its fstab mount point, the root by package', { skip: skipNew }, async (t) => {
  const guids = '00000000-0000-4000-8000-00000000000';
  const espA = vfatOf(t, espTree(t, false));
  const a = diskOf(t, squashfsOf(t, tree(t, false)), guids, espA);
  const b = diskOf(t, squashfsOf(t, tree(t, true)), guids, vfatOf(t, espTree(t, true)));
  const listed = await listInput(a);
  try {
    assert.equal(listed.listing.get('boot/efi/EFI/BOOT/BOOTX64.EFI')?.size, 70000);
    assert.equal(listed.listing.get('etc/os-release')?.type, 'file');
    assert.equal(listed.listing.has('.partitions/1'), false);
    assert.deepEqual(listed.header?.filter((l) => l.includes('filesystem')), ['partition 1 filesystem: vfat UUID 1234-5678', 'partition 2 filesystem: squashfs']);
  } finally {
    await listed.dispose();
  }
  const ab = await diffImages(a, b);
  assert.deepEqual(ab.header, { removed: [], added: [] });
  assert.deepEqual(ab.groups.find((g) => g.name === 'hello')?.changes.map((c) => c.path), ['usr/bin/hello']);
  const loose = ab.groups.find((g) => g.name === null)?.changes.map((c) => `${c.path} ${c.aspects.join(',')}`);
  assert.deepEqual(loose?.filter((l) => l.startsWith('boot/')), ['boot/efi/loader/entries/Debian Linux.conf content', 'boot/efi/loader/loader.conf time']);
  // The same trees on an erofs root: the same files (squashfs's unread xattrs aside).
  const e = diskOf(t, erofsOf(t, tree(t, false)), guids, espA);
  const ae = await diffImages(a, e);
  assert.deepEqual(ae.groups, []);
  assert.deepEqual(ae.header, { removed: ['partition 2 filesystem: squashfs'], added: ['partition 2 filesystem: erofs UUID 11111111-2222-4333-8444-555555555555'] });
});
