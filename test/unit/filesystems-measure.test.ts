/** measureContent on the fixture, and each sized maker taking the fixture at exactly its neededSize. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FILESYSTEMS, measureContent } from '../../src/outputs/filesystems/index.ts';
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';
import { EPOCH, makeFixture } from './filesystems-fixture.ts';

const root = process.getuid?.() === 0 ? undefined : 'needs root (owners, a device node)';
const UUID = '0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3';
const MIB = 1 << 20;

test('measureContent counts every inode once, hard links too, and the xattr bytes', { skip: skipOrFail(root ?? missingTools(['getfattr', 'setcap'])) }, async () => {
  const source = makeFixture();
  try {
    const m = await measureContent(source);
    // 8 directories with the root... as the fixture lists them: /, etc, usr, usr/bin, usr/share, home, home/user, run, dev.
    assert.equal(m.directories, 9);
    assert.equal(m.files, 2 + 2 + 1 + 1 + 40); // shadow, hostname, passwd (and its link once), ping, big, notes, file-00..39
    assert.equal(m.symlinks, 1);
    assert.equal(m.others, 2);
    assert.equal(m.inodes, m.directories + m.files + m.symlinks + m.others);
    const big = 16 * 20_000;
    assert.equal(m.blocks4k, 1 + 1 + 1 + 1 + Math.ceil(big / 4096) + 1 + 40);
    assert.ok(m.bytes > big && m.bytes < big + 2000, String(m.bytes));
    // security.capability: the name (19 bytes) and a version 2 value (20 bytes).
    assert.equal(m.xattrBytes, 'security.capability'.length + 20);
    assert.equal((await measureContent(source, new Map())).xattrBytes, 0);
  } finally {
    rmSync(source, { recursive: true, force: true });
  }
});

test('ext4, vfat and btrfs hold the fixture at exactly their neededSize', { skip: skipOrFail(root ?? missingTools(['mke2fs', 'mkfs.vfat', 'mcopy', 'mkfs.btrfs', 'setcap'])) }, async () => {
  const full = makeFixture();
  const regular = makeFixture({ regularOnly: true });
  const dir = mkdtempSync(join(tmpdir(), 'kiln-needed-'));
  try {
    for (const fs of ['ext4', 'vfat', 'btrfs'] as const) {
      const source = fs === 'vfat' ? regular : full;
      const maker = FILESYSTEMS[fs];
      const size = Math.max(maker.minimumSize, maker.neededSize(await measureContent(source)));
      assert.equal(size % MIB, 0, `${fs}: ${size} is not whole MiB`);
      await maker.make({ source, image: join(dir, `x.${fs}`), size, uuid: UUID, sourceDateEpoch: EPOCH });
    }
  } finally {
    for (const d of [dir, full, regular]) rmSync(d, { recursive: true, force: true });
  }
});
