import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream, chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { TarWriter } from '../../src/archive/index.ts';
import { treeState } from '../../src/pipeline/checkpoints.ts';
import { applyLayer, whiteoutOf } from '../../src/pipeline/overlay-layers.ts';
import { writeShellLayer } from '../../src/pipeline/shell-layer.ts';

/** The build's SOURCE_DATE_EPOCH, before today: a shell's changes are clamped to it. */
const SDE = 1_700_000_000;

function scratch(t: { after(fn: () => void): void }, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `kiln-layer-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A tree as a checkpoint would restore it. */
function lower(root: string): void {
  mkdirSync(join(root, 'etc/app'), { recursive: true });
  writeFileSync(join(root, 'etc/motd'), 'welcome\n');
  writeFileSync(join(root, 'etc/app/a'), 'a');
  writeFileSync(join(root, 'etc/app/b'), 'b');
  writeFileSync(join(root, 'etc/keep'), 'keep');
  writeFileSync(join(root, 'etc/was-file'), 'file');
}

test('whiteout names: .wh.NAME removes NAME, .wh..wh..opq empties its directory, others are ordinary', () => {
  assert.deepEqual(whiteoutOf('etc/.wh.motd'), { removes: 'etc/motd' });
  assert.deepEqual(whiteoutOf('./.wh.top'), { removes: 'top' });
  assert.deepEqual(whiteoutOf('etc/app/.wh..wh..opq'), { empties: 'etc/app' });
  assert.equal(whiteoutOf('etc/motd'), undefined);
  assert.equal(whiteoutOf('etc/x.wh.y'), undefined);
});

test('a shell\'s changes round-trip as a layer: added, changed, removed, retyped paths; owners and modes kept', async (t) => {
  const copy = scratch(t, 'copy');
  lower(copy);
  const before = treeState(copy);
  // What a user does in the shell.
  writeFileSync(join(copy, 'etc/fixed'), 'x\n');
  chmodSync(join(copy, 'etc/fixed'), 0o600);
  const { chownSync } = await import('node:fs');
  chownSync(join(copy, 'etc/fixed'), 123, 456);
  writeFileSync(join(copy, 'etc/app/a'), 'A');
  rmSync(join(copy, 'etc/motd'));
  rmSync(join(copy, 'etc/app/b'));
  rmSync(join(copy, 'etc/was-file'));
  mkdirSync(join(copy, 'etc/was-file'));
  symlinkSync('../keep', join(copy, 'etc/was-file/link'));
  const layer = join(scratch(t, 'out'), 'shell.tar');
  const counts = await writeShellLayer(copy, before, treeState(copy), layer, SDE);
  assert.equal(counts.removed, 3, 'motd, b, and was-file (a file before, a directory now)');

  const target = scratch(t, 'target');
  lower(target);
  const applied = await applyLayer(target, layer);
  assert.deepEqual(applied.removed.sort(), ['etc/app/b', 'etc/motd', 'etc/was-file']);
  const st = lstatSync(join(target, 'etc/fixed'));
  assert.equal(readFileSync(join(target, 'etc/fixed'), 'utf8'), 'x\n');
  assert.deepEqual([st.mode & 0o7777, st.uid, st.gid], [0o600, 123, 456]);
  assert.equal(readFileSync(join(target, 'etc/app/a'), 'utf8'), 'A');
  assert.equal(lstatSync(join(target, 'etc/motd'), { throwIfNoEntry: false }), undefined);
  assert.equal(lstatSync(join(target, 'etc/app/b'), { throwIfNoEntry: false }), undefined);
  assert.ok(lstatSync(join(target, 'etc/was-file')).isDirectory());
  assert.equal(readlinkSync(join(target, 'etc/was-file/link')), '../keep');
  assert.equal(readFileSync(join(target, 'etc/keep'), 'utf8'), 'keep');
  for (const name of ['etc/.wh.motd', 'etc/app/.wh.b', 'etc/.wh.was-file']) assert.equal(lstatSync(join(target, name), { throwIfNoEntry: false }), undefined, `${name} is not written`);
});

test('an opaque whiteout empties the directory before the layer fills it; no change writes no layer', async (t) => {
  const target = scratch(t, 'opq');
  lower(target);
  const file = join(scratch(t, 'tar'), 'opq.tar');
  const stream = createWriteStream(file);
  const w = new TarWriter(stream);
  const base = { uid: 0, gid: 0, uname: '', gname: '', mtime: 1, xattrs: new Map() };
  await w.add({ ...base, path: 'etc/app/new', type: 'file', mode: 0o644, size: 3 }, Buffer.from('new'));
  await w.add({ ...base, path: 'etc/app/.wh..wh..opq', type: 'file', mode: 0o644, size: 0 }, Buffer.alloc(0));
  await w.finish();
  await new Promise((r) => stream.end(r));
  await applyLayer(target, file);
  assert.deepEqual((await import('node:fs')).readdirSync(join(target, 'etc/app')), ['new']);

  const same = scratch(t, 'same');
  lower(same);
  const state = treeState(same);
  const out = join(scratch(t, 'none'), 'none.tar');
  assert.deepEqual(await writeShellLayer(same, state, treeState(same), out, SDE), { changed: 0, removed: 0 });
  assert.equal(lstatSync(out, { throwIfNoEntry: false }), undefined);
});

test('two saves of the same change give the same bytes: sorted names, times clamped, numeric owners, no pid in pax headers', async (t) => {
  const { chownSync, utimesSync } = await import('node:fs');
  const save = async (name: string, when: number) => {
    const copy = scratch(t, name);
    lower(copy);
    // The checkpoint's own times (before the epoch) stay as they are; the shell's are later.
    for (const p of ['etc', 'etc/app', 'etc/app/a', 'etc/keep']) utimesSync(join(copy, p), 1_600_000_000.25, 1_600_000_000.25);
    const before = treeState(copy);
    for (const f of ['etc/zeta', 'etc/alpha', 'etc/app/mid']) writeFileSync(join(copy, f), f);
    chownSync(join(copy, 'etc/alpha'), 4242, 4343);
    writeFileSync(join(copy, 'etc/app/a'), 'changed');
    rmSync(join(copy, 'etc/motd'));
    for (const f of ['etc/zeta', 'etc/alpha', 'etc/app/mid', 'etc/app/a', 'etc/app', 'etc']) utimesSync(join(copy, f), when, when);
    const out = join(scratch(t, `${name}-out`), 'layer.tar');
    await writeShellLayer(copy, before, treeState(copy), out, SDE);
    return readFileSync(out);
  };
  // A second apart and a fraction off, as two shells are, in other directories.
  const one = await save('one', SDE + 1000.5);
  const two = await save('two', SDE + 2001.75);
  assert.ok(one.equals(two), 'the same bytes');
  const listing = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvf', '-'], { input: one, encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } }).trim().split('\n');
  const names = listing.map((l) => l.split(/\s+/).at(-1));
  assert.deepEqual(names, ['./etc/.wh.motd', './etc/', './etc/alpha', './etc/app/', './etc/app/a', './etc/app/mid', './etc/zeta'], 'whiteouts first, then the paths in order');
  assert.match(listing.find((l) => l.endsWith('./etc/alpha')) ?? '', /^-\S+ 4242\/4343 /, 'numeric owners');
  for (const line of listing) assert.match(line, /2023-11-14 22:13:20 /, `clamped to SOURCE_DATE_EPOCH: ${line}`);
  assert.ok(!one.includes(Buffer.from(`PaxHeaders.`)), 'no process id in the pax header names');
});
