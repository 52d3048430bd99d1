/** The single-filesystem outputs' size: auto from the content and headroom, or a fixed size that must hold the tree. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../src/config/index.ts';
import { checkedLabel, filesystemSize, filesystemWriter } from '../../src/outputs/filesystem.ts';
import { FILESYSTEMS } from '../../src/outputs/filesystems/index.ts';
import type { WriterInput } from '../../src/outputs/writer.ts';
import { UserError } from '../../src/util/errors.ts';
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';
import { EPOCH, makeFixture } from './filesystems-fixture.ts';

const MIB = 1 << 20;

test('auto: what the tree needs plus the headroom, rounded up to 1 MiB, at least the minimum', () => {
  assert.equal(filesystemSize(FILESYSTEMS.ext4, 100 * MIB, 'auto', '20%'), 120 * MIB);
  assert.equal(filesystemSize(FILESYSTEMS.ext4, 100 * MIB + 1, 'auto', '20%'), 121 * MIB);
  assert.equal(filesystemSize(FILESYSTEMS.ext4, 100 * MIB, 'auto', 64 * MIB), 164 * MIB);
  assert.equal(filesystemSize(FILESYSTEMS.ext4, 0, 'auto', '20%'), FILESYSTEMS.ext4.minimumSize);
  assert.equal(filesystemSize(FILESYSTEMS.ext4, 100 * MIB, 300 * MIB, '20%'), 300 * MIB, 'a fixed size is kept');
});

test('a fixed size too small for the tree is one UserError line saying what it needs', () => {
  assert.throws(
    () => filesystemSize(FILESYSTEMS.ext4, 100 * MIB + 1, 50 * MIB, '20%'),
    (err: unknown) => err instanceof UserError && err.message === 'filesystem.size = 50M is too small for the ext4 output: the tree needs 101M' && !err.message.includes('\n'),
  );
});

test('the ext4 writer refuses a too-small filesystem.size before mke2fs runs', { skip: skipOrFail(process.getuid?.() !== 0 ? 'needs root (owners in the fixture)' : missingTools(['getfattr', 'setcap'])) }, async () => {
  const source = makeFixture();
  const dir = mkdtempSync(join(tmpdir(), 'kiln-fs-size-'));
  const tmp = join(dir, 'image.ext4');
  const config = { 'filesystem.size': MIB, 'filesystem.headroom': '20%', 'filesystem.label': undefined } as unknown as Config;
  const input = { root: source, tmp, made: {}, sourceDateEpoch: EPOCH, rootOnTmpfs: false, tree: { xattrs: async () => new Map() }, config, machine: 'x86_64', architecture: 'amd64', seed: 'seed', emit: () => {} } as unknown as WriterInput;
  try {
    await assert.rejects(filesystemWriter('ext4').write(input), (err: unknown) => err instanceof UserError && /^filesystem\.size = 1M is too small for the ext4 output: the tree needs \d+M$/.test(err.message));
    assert.equal(existsSync(tmp), false, 'nothing written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(source, { recursive: true, force: true });
  }
});

test('a label longer than the filesystem keeps is one UserError line naming the limit', () => {
  assert.equal(checkedLabel(FILESYSTEMS.vfat, 'EFI'), 'EFI');
  assert.equal(checkedLabel(FILESYSTEMS.ext4, 'a'.repeat(16)), 'a'.repeat(16));
  assert.throws(() => checkedLabel(FILESYSTEMS.vfat, 'ABCDEFGHIJKL'), (err: unknown) => err instanceof UserError && err.message === 'filesystem.label "ABCDEFGHIJKL" is too long for vfat: it keeps 11 bytes');
  assert.throws(() => checkedLabel(FILESYSTEMS.ext4, 'a'.repeat(17)), UserError);
  assert.equal(checkedLabel(FILESYSTEMS.erofs, 'x'.repeat(40)), 'x'.repeat(40), 'erofs keeps no label: nothing to check');
});
