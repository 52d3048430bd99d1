/**
 * kiln diff's ext4 and disk readers on small generated images: mke2fs -d
 * makes the ext4 from a tree (the reader lists what the directory reader
 * lists, lost+found aside), sgdisk makes the GPT around it, qemu-img the
 * qcow2; the changes are grouped by package from the root partition's
 * database and the partition table's differences are reported first.
 */
import assert from 'node:assert/strict';
import { chmodSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { diffImages, formatTextReport, listInput } from '../../src/diff/index.ts';
import { have, run, tempDir } from '../fixtures/archive-helpers.ts';

const skip = ['mke2fs', 'debugfs', 'sgdisk', 'qemu-img', 'setfattr'].find((c) => !have(c));

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
  return root;
}

function ext4Of(t: TestContext, root: string): string {
  const image = join(tempDir(t, 'diff-fs-ext4'), 'image.ext4');
  run('mke2fs', ['-q', '-t', 'ext4', '-U', '11111111-2222-4333-8444-555555555555', '-E', 'hash_seed=11111111-2222-4333-8444-555555555555', '-d', root, image, '8M'], { env: { ...process.env, E2FSPROGS_FAKE_TIME: '1700000000' } });
  return image;
}

/** A GPT disk: a 1 MiB partition 1 (unformatted), the ext4 as partition 2; `guids` fixes every GUID. */
function diskOf(t: TestContext, ext4: string, guids: string): string {
  const disk = join(tempDir(t, 'diff-fs-disk'), 'image.raw');
  run('truncate', ['-s', '12M', disk]);
  run('sgdisk', ['-n', '1:2048:+1M', '-n', '2:4096:+8M', '-t', '1:ef00', '-t', '2:8304', '-U', `${guids}0`, '-u', `1:${guids}1`, '-u', `2:${guids}2`, disk]);
  run('dd', [`if=${ext4}`, `of=${disk}`, 'bs=512', 'seek=4096', 'conv=notrunc', 'status=none']);
  return disk;
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
