import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, lstatSync, lutimesSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { compareTrees, directoryWriter } from '../../src/outputs/directory.ts';
import type { Config } from '../../src/config/index.ts';
import type { KilnEvent } from '../../src/util/events.ts';

type LogEvent = Extract<KilnEvent, { kind: 'log' }>;
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';

const EPOCH = 1735689600;
const noRsync = skipOrFail(missingTools(['rsync']));

/** A tree with what a root filesystem holds: files at one clamped time, a symlink, a hard-link pair, an empty dir, a fifo. */
function makeTree(root: string, hostname: string): void {
  mkdirSync(join(root, 'etc/sub'), { recursive: true });
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  mkdirSync(join(root, 'var/empty'), { recursive: true });
  writeFileSync(join(root, 'etc/hostname'), `${hostname}\n`);
  writeFileSync(join(root, 'etc/sub/conf'), 'a=1\n');
  writeFileSync(join(root, 'usr/bin/tool'), 'tool\n', { mode: 0o755 });
  linkSync(join(root, 'usr/bin/tool'), join(root, 'usr/bin/tool-alias'));
  symlinkSync('tool', join(root, 'usr/bin/link'));
  execFileSync('mkfifo', [join(root, 'var/fifo')]);
  for (const p of ['etc/hostname', 'etc/sub/conf', 'usr/bin/tool', 'var/fifo', 'etc/sub', 'etc', 'usr/bin', 'usr', 'var/empty', 'var', '']) utimesSync(join(root, p), EPOCH, EPOCH);
  lutimesSync(join(root, 'usr/bin/link'), EPOCH, EPOCH);
}

function write(root: string, out: string) {
  const logs: LogEvent[] = [];
  const input = {
    root,
    tmp: join(out, '.image.tmp'),
    previous: join(out, 'image'),
    made: {},
    sourceDateEpoch: EPOCH,
    rootOnTmpfs: true,
    tree: { xattrs: async () => new Map() },
    config: {} as Config,
    machine: 'x86_64' as const,
    architecture: 'amd64',
    seed: 's',
    imageDir: root,
    emit: (e: KilnEvent) => void (e.kind === 'log' && logs.push(e)),
  };
  return { input, logs };
}

/** A tree (hostname board1) and an earlier output beside it made the same way with `oldHostname`; removed after the test. */
function scene(t: TestContext, oldHostname: string) {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-dirout-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tree = join(dir, 'tree');
  makeTree(tree, 'board1');
  const out = join(dir, 'out');
  mkdirSync(out);
  const old = join(out, 'image');
  makeTree(old, oldHostname);
  return { dir, tree, out, old };
}

test('directory output: a rebuild updates the earlier output in place (unchanged inodes kept), and the result is what cp -a makes', { skip: noRsync }, async (t) => {
  // The earlier output: an older tree, then changed by hand in every way the sync must undo.
  const { dir, tree, out, old } = scene(t, 'board0');
  const keptInode = lstatSync(join(old, 'etc/sub/conf')).ino;
  writeFileSync(join(old, 'stray'), 'left by hand\n');
  chmodSync(join(old, 'etc/sub/conf'), 0o600);
  rmSync(join(old, 'usr/bin/link'));
  symlinkSync('elsewhere', join(old, 'usr/bin/link'));
  rmSync(join(old, 'var/empty'), { recursive: true });
  writeFileSync(join(old, 'var/empty'), 'a file where a directory belongs\n');
  utimesSync(join(old, 'etc/hostname'), EPOCH, EPOCH);
  // Same size and time as the tree's hostname, other bytes: only a checksum tells them apart.
  assert.equal(lstatSync(join(old, 'etc/hostname')).size, lstatSync(join(tree, 'etc/hostname')).size);
  assert.ok(compareTrees(tree, old).length > 0, 'the hand-changed output differs from the tree');

  const { input, logs } = write(tree, out);
  await directoryWriter.write(input);
  assert.equal(existsSync(old), false, 'the earlier output was moved to the temporary name');
  assert.deepEqual(compareTrees(tree, input.tmp), []);
  assert.equal(readFileSync(join(input.tmp, 'etc/hostname'), 'utf8'), 'board1\n');
  assert.equal(existsSync(join(input.tmp, 'stray')), false);
  assert.equal(lstatSync(join(input.tmp, 'usr/bin/tool')).ino, lstatSync(join(input.tmp, 'usr/bin/tool-alias')).ino);
  assert.equal(lstatSync(join(input.tmp, 'etc/sub/conf')).ino, keptInode, 'an unchanged file keeps its inode');
  assert.match(logs.map((l) => l.message).join('\n'), /updated the earlier directory output in place/);

  // And the same bytes and facts as a first build's cp -a.
  const fresh = join(dir, 'fresh');
  const first = write(tree, fresh);
  mkdirSync(fresh);
  await directoryWriter.write(first.input);
  assert.deepEqual(compareTrees(first.input.tmp, input.tmp), []);
  assert.equal(first.logs.length, 0, 'a first build copies: there is nothing to update');
});

test('directory output: an earlier output whose hard links the tree does not have is copied anew, never left linked', { skip: noRsync }, async (t) => {
  const { tree, out, old } = scene(t, 'board1');
  // The earlier output links two files the tree keeps apart (same bytes, same times).
  rmSync(join(old, 'etc/sub/conf'));
  writeFileSync(join(old, 'etc/second'), 'a=1\n');
  linkSync(join(old, 'etc/second'), join(old, 'etc/sub/conf'));
  writeFileSync(join(tree, 'etc/second'), 'a=1\n');
  for (const root of [tree, old]) for (const p of ['etc/second', 'etc/sub/conf', 'etc/sub', 'etc']) utimesSync(join(root, p), EPOCH, EPOCH);
  const { input } = write(tree, out);
  await directoryWriter.write(input);
  assert.deepEqual(compareTrees(tree, input.tmp), []);
  assert.equal(lstatSync(join(input.tmp, 'etc/second')).nlink, 1);
});

test('compareTrees names the first differences: a mode, an entry count, a symlink target, a link count', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-dirout-'));
  try {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    makeTree(a, 'x');
    makeTree(b, 'x');
    assert.deepEqual(compareTrees(a, b), []);
    chmodSync(join(b, 'etc/sub/conf'), 0o600);
    assert.deepEqual(compareTrees(a, b), ['etc/sub/conf: mode 33152 instead of 33188']);
    chmodSync(join(b, 'etc/sub/conf'), 0o644);
    rmSync(join(b, 'usr/bin/link'));
    symlinkSync('tooL', join(b, 'usr/bin/link'));
    lutimesSync(join(b, 'usr/bin/link'), EPOCH, EPOCH);
    rmSync(join(b, 'usr/bin/tool-alias'));
    writeFileSync(join(b, 'usr/bin/tool-alias'), 'tool\n', { mode: 0o755 });
    utimesSync(join(b, 'usr/bin/tool-alias'), EPOCH, EPOCH);
    rmSync(join(b, 'etc/hostname'));
    for (const p of ['etc', 'usr/bin']) utimesSync(join(b, p), EPOCH, EPOCH);
    assert.deepEqual(compareTrees(a, b), ['etc: 1 entries instead of 2', 'usr/bin/link: symlink target', 'usr/bin/tool: link count 1 instead of 2', 'usr/bin/tool-alias: link count 1 instead of 2']);
    assert.deepEqual(compareTrees(a, b, 1), ['etc: 1 entries instead of 2']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
