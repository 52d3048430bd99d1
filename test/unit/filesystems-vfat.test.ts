import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FILESYSTEMS, measureContent } from '../../src/outputs/filesystems/index.ts';
import { UserError } from '../../src/util/errors.ts';
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';
import { EPOCH, makeFixture, TMPFS } from './filesystems-fixture.ts';

const skip = skipOrFail(process.getuid?.() !== 0 ? 'needs root (owners in the fixture)' : missingTools(['mkfs.vfat', 'fsck.vfat', 'mmd', 'mcopy', 'mdir', 'setcap']));
const UUID = '0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3';
const MIB = 1 << 20;
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const mtools = { ...process.env, MTOOLS_SKIP_CHECK: '1', TZ: 'UTC' };

/** The date of the volume label's directory entry (mkfs.vfat --invariant leaves 2015-03-14), found by its name and attribute byte. */
function labelEntryDate(image: string): number[] {
  const bytes = readFileSync(image);
  const at = bytes.indexOf(Buffer.from('ESP        \x08', 'latin1'), 512);
  assert.ok(at > 0, 'no volume label entry');
  const date = bytes.readUInt16LE(at + 24);
  return [(date >> 9) + 1980, (date >> 5) & 15, date & 31];
}

async function makeVfat(source: string, size?: number): Promise<{ image: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-vfat-'));
  const image = join(dir, 'esp.vfat');
  const needed = FILESYSTEMS.vfat.neededSize(await measureContent(source));
  const made = await FILESYSTEMS.vfat.make({ source, image, size: size ?? Math.ceil((needed * 1.2) / MIB) * MIB, uuid: UUID, label: 'ESP', sourceDateEpoch: EPOCH });
  assert.equal(made.uuid, '0A1B-2C3D');
  return { image, dir };
}

test('vfat: fsck clean, the files and their clamped times, the volume id and label', { skip }, async () => {
  const source = makeFixture({ regularOnly: true });
  const { image, dir } = await makeVfat(source);
  try {
    execFileSync('fsck.vfat', ['-n', image], { stdio: 'pipe' });
    const listing = execFileSync('mdir', ['-i', image, '-/', '-a', '::'], { env: mtools }).toString();
    assert.match(listing, /Volume in drive : is ESP/);
    assert.match(listing, /Serial Number is 0A1B-2C3D/);
    assert.match(listing, /file-39/);
    assert.match(listing, /notes\s+txt\s+6/);
    const big = execFileSync('mtype', ['-i', image, '::/usr/share/big'], { env: mtools, maxBuffer: 1 << 24 });
    assert.equal(big.toString(), '0123456789abcdef'.repeat(20_000));
    // etc/hostname was newer than the epoch: clamped (2023-11-14 22:13 UTC is 1700000000).
    assert.match(execFileSync('mdir', ['-i', image, '::/etc'], { env: mtools }).toString(), /hostname\s+5 2023-11-14\s+22:13/);
    assert.deepEqual(labelEntryDate(image), [2023, 11, 14]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(source, { recursive: true, force: true });
  }
});

test('vfat: FAT32 from 33 MiB on, FAT12/16 below as mkfs.vfat picks', { skip }, async () => {
  const source = makeFixture({ regularOnly: true });
  const small = await makeVfat(source, 8 * MIB);
  const large = await makeVfat(source, 40 * MIB);
  try {
    assert.match(readFileSync(small.image).subarray(0x36, 0x3e).toString(), /^FAT1[26]   $/);
    assert.equal(readFileSync(large.image).subarray(0x52, 0x5a).toString(), 'FAT32   ');
    execFileSync('fsck.vfat', ['-n', large.image], { stdio: 'pipe' });
    assert.deepEqual(labelEntryDate(large.image), [2023, 11, 14]);
  } finally {
    for (const d of [small.dir, large.dir, source]) rmSync(d, { recursive: true, force: true });
  }
});

test('vfat: the same content made later, elsewhere, under another umask and creation order (on a tmpfs) gives the same bytes', { skip }, async () => {
  const first = makeFixture({ regularOnly: true });
  const a = await makeVfat(first, 40 * MIB);
  await new Promise((r) => setTimeout(r, 1100)); // another second of the clock
  const second = makeFixture({ regularOnly: true, reversed: true, umask: 0o077, parent: TMPFS });
  const b = await makeVfat(second, 40 * MIB);
  try {
    assert.equal(sha256(b.image), sha256(a.image));
  } finally {
    for (const d of [a.dir, b.dir, first, second]) rmSync(d, { recursive: true, force: true });
  }
});

test('vfat: a device or symlink in the source is one UserError naming the first', { skip }, async () => {
  const source = makeFixture();
  const dir = mkdtempSync(join(tmpdir(), 'kiln-vfat-'));
  try {
    await assert.rejects(FILESYSTEMS.vfat.make({ source, image: join(dir, 'x.vfat'), size: 8 * MIB, uuid: UUID, sourceDateEpoch: EPOCH }), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.equal(err.message, 'vfat cannot hold /dev/null: it is a device');
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(source, { recursive: true, force: true });
  }
});
