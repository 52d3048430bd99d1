/** erofs and squashfs: checked and extracted by their own tools, compared with the tree; the same bytes twice. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FILESYSTEMS, measureContent } from '../../src/outputs/filesystems/index.ts';
import { runMksquashfs } from '../../src/outputs/filesystems/squashfs.ts';
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';
import { describeTree, EPOCH, makeFixture, TMPFS } from './filesystems-fixture.ts';

const root = process.getuid?.() === 0 ? undefined : 'needs root (owners, a device node)';
const UUID = '0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3';
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

async function make(fs: 'erofs' | 'squashfs', source: string): Promise<{ image: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), `kiln-${fs}-`));
  const image = join(dir, `root.${fs}`);
  const made = await FILESYSTEMS[fs].make({ source, image, uuid: UUID, sourceDateEpoch: EPOCH });
  assert.ok(made.size > 0 && made.size <= FILESYSTEMS[fs].neededSize(await measureContent(source)), `${fs}: ${made.size} bytes, more than neededSize`);
  return { image, dir };
}

/** An erofs inode's i_mode (at byte 4 of compact and extended inodes alike), found through dump.erofs's NID. */
function erofsMode(image: string, path: string): number {
  const meta = Number(/inode metadata start block:\s+(\d+)/.exec(execFileSync('dump.erofs', ['-s', image]).toString())?.[1]);
  const nid = Number(/NID: (\d+)/.exec(execFileSync('dump.erofs', [`--path=${path}`, image]).toString())?.[1]);
  return readFileSync(image).readUInt16LE(meta * 4096 + nid * 32 + 4);
}

/** The tree as the fixture made it, but with the mtime that was newer than the epoch clamped (describeTree leaves times out). */
function expectExtracted(source: string, extracted: string): void {
  assert.deepEqual(describeTree(extracted).slice(1), describeTree(source).slice(1));
  assert.match(execFileSync('getcap', [join(extracted, 'usr/bin/ping')]).toString(), /cap_net_raw[=+]ep/);
}

test('erofs: fsck.erofs clean; extracted, the tree with its owners, modes, links, devices and caps', { skip: skipOrFail(root ?? missingTools(['mkfs.erofs', 'fsck.erofs', 'getcap', 'setcap'])) }, async () => {
  const source = makeFixture();
  const { image, dir } = await make('erofs', source);
  try {
    execFileSync('fsck.erofs', [image], { stdio: 'pipe' });
    execFileSync('fsck.erofs', ['--extract=' + join(dir, 'x'), '--preserve', image], { stdio: 'pipe' });
    // fsck.erofs 1.5 chowns after it chmods, so its extraction loses setuid bits: compare without them, and read passwd's mode from its inode.
    const noSetuid = (lines: string[]) => lines.map((l) => l.replace(/ 4755 /, ' 755 '));
    assert.deepEqual(describeTree(join(dir, 'x')).slice(1), noSetuid(describeTree(source).slice(1)));
    assert.equal(erofsMode(image, '/usr/bin/passwd'), 0o104755);
    assert.match(execFileSync('dump.erofs', ['--path=/usr/bin/ping', image]).toString(), /Xattr size: [1-9]/);
    assert.match(execFileSync('dump.erofs', ['-s', image]).toString(), new RegExp(UUID));
    // With SOURCE_DATE_EPOCH beside -T, mkfs.erofs clamps: the newer mtime is the epoch, the others are kept.
    const time = (path: string) => /Timestamp: (.*)\n/.exec(execFileSync('dump.erofs', [`--path=${path}`, image], { env: { ...process.env, TZ: 'UTC' } }).toString())?.[1];
    assert.equal(time('/etc/hostname'), '2023-11-14 22:13:20.000000000');
    assert.equal(time('/'), '2023-11-14 22:13:10.000000000');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(source, { recursive: true, force: true });
  }
});

test('squashfs: unsquashfs lists the owners and modes; extracted, the tree with its caps', { skip: skipOrFail(root ?? missingTools(['mksquashfs', 'unsquashfs', 'getcap', 'setcap'])) }, async () => {
  const source = makeFixture();
  const { image, dir } = await make('squashfs', source);
  try {
    const listing = execFileSync('unsquashfs', ['-lln', image]).toString();
    assert.match(listing, /^-rw-r----- 0\/42 .* squashfs-root\/etc\/shadow$/m);
    assert.match(listing, /^-rwsr-xr-x 0\/0 .* squashfs-root\/usr\/bin\/passwd$/m);
    assert.match(listing, /^drwx------ 1000\/1000 .* squashfs-root\/home\/user$/m);
    assert.match(listing, /^crw-rw-rw- 0\/0 +1, +3 .* squashfs-root\/dev\/null$/m);
    assert.match(listing, /^lrwxrwxrwx 0\/0 .* squashfs-root\/usr\/bin\/sh -> passwd$/m);
    for (const line of listing.trim().split('\n')) assert.match(line, / 2023-11-14 22:13 /, line);
    execFileSync('unsquashfs', ['-q', '-n', '-d', join(dir, 'x'), image], { stdio: 'pipe' });
    expectExtracted(source, join(dir, 'x'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(source, { recursive: true, force: true });
  }
});

test('squashfs: the output does not depend on the number of threads', { skip: skipOrFail(root ?? missingTools(['mksquashfs', 'setcap'])) }, async () => {
  const source = makeFixture();
  const dir = mkdtempSync(join(tmpdir(), 'kiln-squashfs-'));
  try {
    await runMksquashfs(source, join(dir, '1.squashfs'), EPOCH, 1);
    await runMksquashfs(source, join(dir, '4.squashfs'), EPOCH, 4);
    assert.equal(sha256(join(dir, '4.squashfs')), sha256(join(dir, '1.squashfs')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(source, { recursive: true, force: true });
  }
});

for (const fs of ['erofs', 'squashfs'] as const) {
  test(`${fs}: the same content made later, elsewhere, under another umask and creation order (on a tmpfs) gives the same bytes`, { skip: skipOrFail(root ?? missingTools([fs === 'erofs' ? 'mkfs.erofs' : 'mksquashfs', 'setcap'])) }, async () => {
    const first = makeFixture();
    const a = await make(fs, first);
    await new Promise((r) => setTimeout(r, 1100)); // another second of the clock
    const second = makeFixture({ reversed: true, umask: 0o077, parent: TMPFS });
    const b = await make(fs, second);
    try {
      assert.equal(sha256(b.image), sha256(a.image));
    } finally {
      for (const d of [a.dir, b.dir, first, second]) rmSync(d, { recursive: true, force: true });
    }
  });
}
