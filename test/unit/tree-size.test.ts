import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { treeSize, treeState } from '../../src/pipeline/checkpoints.ts';
import { describeTreeSize } from '../../src/util/size.ts';

test("a stage's tree size comes from the checkpoint's walk: file bytes (a hard link once) and paths below the root", (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kiln-size-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/a'), 'x'.repeat(1000));
  linkSync(join(root, 'etc/a'), join(root, 'etc/b'));
  writeFileSync(join(root, 'c'), 'y'.repeat(24));
  symlinkSync('/etc/a', join(root, 'd'));
  const size = treeSize(treeState(root));
  assert.deepEqual(size, { bytes: 1024, paths: 5 });
  assert.equal(describeTreeSize(size), '1.0 KiB, 5 paths');
});
