import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { largestFiles } from '../../src/cli/inspect-files.ts';

test('kiln inspect: the N largest files of a directory output and of a compressed tar, a hard link once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-inspect-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tree = join(dir, 'image');
  mkdirSync(join(tree, 'usr/lib'), { recursive: true });
  for (const [name, size] of [['usr/lib/big', 5000], ['usr/lib/mid', 3000], ['etc-small', 10], ['usr/tiny', 1]] as const) writeFileSync(join(tree, name), 'x'.repeat(size));
  linkSync(join(tree, 'usr/lib/big'), join(tree, 'usr/lib/big-again'));
  const fromDir = await largestFiles(tree, 2);
  assert.deepEqual(fromDir?.files.map((f) => [f.path, f.size]), [['/usr/lib/big', 5000], ['/usr/lib/mid', 3000]]);
  const tar = join(dir, 'image.tar.gz');
  assert.equal(spawnSync('tar', ['-czf', tar, '-C', tree, '.']).status, 0);
  const fromTar = await largestFiles(tar, 3);
  assert.deepEqual(fromTar?.files.map((f) => f.size), [5000, 3000, 10]);
  assert.equal(await largestFiles(join(dir, 'image.ext4'), 3), undefined);
});
