import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FILESYSTEMS, measureContent } from '../../src/outputs/filesystems/index.ts';
import { usedInodes } from '../../src/outputs/filesystems/ext4.ts';
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';
import { EPOCH, makeFixture, TMPFS } from './filesystems-fixture.ts';

const skip = skipOrFail(process.getuid?.() !== 0 ? 'needs root (owners, a device node)' : missingTools(['mke2fs', 'e2fsck', 'debugfs', 'dumpe2fs', 'setcap']));
const UUID = '0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3';
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const debugfs = (image: string, request: string) => execFileSync('debugfs', ['-R', request, image], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();

async function makeExt4(source: string): Promise<{ image: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-ext4-'));
  const image = join(dir, 'root.ext4');
  const content = await measureContent(source);
  const size = Math.max(FILESYSTEMS.ext4.minimumSize, Math.ceil((FILESYSTEMS.ext4.neededSize(content) * 1.2) / (1 << 20)) * (1 << 20));
  const made = await FILESYSTEMS.ext4.make({ source, image, size, uuid: UUID, label: 'root', sourceDateEpoch: EPOCH });
  assert.equal(made.uuid, UUID);
  return { image, dir };
}

test('ext4: e2fsck clean, owners, modes, caps, links, devices as in the tree', { skip }, async () => {
  const source = makeFixture();
  const { image, dir } = await makeExt4(source);
  try {
    execFileSync('e2fsck', ['-fn', image], { stdio: 'pipe' });
    const shadow = debugfs(image, 'stat /etc/shadow');
    assert.match(shadow, /Mode:\s+0640/);
    assert.match(shadow, /User:\s+0\s+Group:\s+42\b/);
    assert.match(debugfs(image, 'stat /usr/bin/passwd'), /Mode:\s+04755/);
    assert.match(debugfs(image, 'stat /usr/bin/passwd'), /Links: 2/);
    assert.match(debugfs(image, 'ea_list /usr/bin/ping'), /security\.capability/);
    assert.match(debugfs(image, 'stat /home/user'), /User:\s+1000\s+Group:\s+1000/);
    assert.match(debugfs(image, 'stat /dev/null'), /Type: character special/);
    assert.match(debugfs(image, 'stat /run/initctl'), /Type: FIFO/);
    assert.match(debugfs(image, 'stat /usr/bin/sh'), /Fast link dest: "passwd"/);
    assert.match(debugfs(image, 'stat /lost+found'), /Type: directory\s+Mode:\s+0700/);
    assert.match(execFileSync('dumpe2fs', ['-h', image], { stdio: ['ignore', 'pipe', 'ignore'] }).toString(), /^Filesystem features:.*has_journal/m);
    // The newer-than-epoch mtime is clamped, and no inode keeps a build-time atime or ctime.
    for (const path of ['/etc/hostname', '/', '/usr/share/big']) {
      const stat = debugfs(image, `stat ${path}`);
      for (const m of stat.matchAll(/^\s*(\w+): (0x[0-9a-f]+):([0-9a-f]+)/gm)) {
        assert.ok(Number(m[2]) <= EPOCH, `${path} ${m[1]} ${m[2]} is after SOURCE_DATE_EPOCH`);
      }
    }
    assert.equal(readFileSync(image).subarray(1024 + 0x78, 1024 + 0x78 + 4).toString(), 'root');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(source, { recursive: true, force: true });
  }
});

test('ext4: the same content made later, elsewhere, under another umask and creation order (on a tmpfs) gives the same bytes', { skip }, async () => {
  const first = makeFixture();
  const a = await makeExt4(first);
  await new Promise((r) => setTimeout(r, 1100)); // a later second: fresh ctimes
  const second = makeFixture({ reversed: true, umask: 0o077, parent: TMPFS });
  const b = await makeExt4(second);
  try {
    assert.equal(sha256(b.image), sha256(a.image));
  } finally {
    for (const d of [a.dir, b.dir, first, second]) rmSync(d, { recursive: true, force: true });
  }
});

test('usedInodes reads the inodes in use from dumpe2fs free ranges', () => {
  const dump = 'Inode count:              24\nGroup 0: (Blocks 0-10)\n  Free inodes: 14-16, 18\nGroup 1: (Blocks 11-20)\n  Free inodes: 20-24\n';
  assert.deepEqual(usedInodes(dump), [2, 11, 12, 13, 17, 19]);
});
