/** The tree walk and time clamp the finalize stage and the makers use (src/tree/walk.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, lutimesSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clampTreeTimes, walkTree } from '../../src/tree/index.ts';

const EPOCH = 1_700_000_000;

function tree(): { root: string; outside: string } {
  const root = mkdtempSync(join(tmpdir(), 'kiln-clamp-'));
  const outside = mkdtempSync(join(tmpdir(), 'kiln-clamp-outside-'));
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/new'), 'new');
  writeFileSync(join(root, 'etc/old'), 'old');
  writeFileSync(join(outside, 'target'), 'outside');
  utimesSync(join(outside, 'target'), EPOCH + 99, EPOCH + 99);
  symlinkSync(join(outside, 'target'), join(root, 'etc/link-out'));
  symlinkSync(outside, join(root, 'dir-link'));
  utimesSync(join(root, 'etc/old'), EPOCH - 100, EPOCH - 50);
  utimesSync(join(root, 'etc/new'), EPOCH + 10, EPOCH + 20);
  lutimesSync(join(root, 'etc/link-out'), EPOCH + 30, EPOCH + 30);
  return { root, outside };
}

test('clampTreeTimes clamps newer times only, symlinks themselves, and never what a link points at', () => {
  const { root, outside } = tree();
  try {
    assert.ok(clampTreeTimes(root, EPOCH) >= 3);
    const s = (p: string) => lstatSync(join(root, p));
    assert.equal(s('etc/new').mtimeMs, EPOCH * 1000);
    assert.equal(s('etc/new').atimeMs, EPOCH * 1000);
    assert.equal(s('etc/old').mtimeMs, (EPOCH - 50) * 1000, 'an older mtime is kept');
    assert.equal(s('etc/old').atimeMs, (EPOCH - 100) * 1000, 'an older atime is kept');
    // An access time alone (a read moved it) is left: touching the entry would put it in the next checkpoint.
    utimesSync(join(root, 'etc/old'), EPOCH + 500, EPOCH - 50);
    const before = s('etc/old').ctimeMs;
    clampTreeTimes(root, EPOCH);
    assert.equal(s('etc/old').ctimeMs, before, 'an entry newer only by its access time is not touched');
    assert.equal(s('etc/link-out').mtimeMs, EPOCH * 1000, 'the symlink itself');
    for (const dir of ['', 'etc']) assert.ok(s(dir).mtimeMs <= EPOCH * 1000, dir);
    assert.equal(lstatSync(join(outside, 'target')).mtimeMs, (EPOCH + 99) * 1000, 'the link target outside the tree is untouched');
    assert.ok(lstatSync(outside).mtimeMs > EPOCH * 1000, 'a symlinked directory is not entered');
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  }
});

test('walkTree visits parents first, names in byte order, and does not enter a symlinked directory', () => {
  const { root, outside } = tree();
  try {
    const seen: string[] = [];
    walkTree(root, (rel) => seen.push(rel));
    assert.deepEqual(seen, ['', 'dir-link', 'etc', 'etc/link-out', 'etc/new', 'etc/old']);
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  }
});
