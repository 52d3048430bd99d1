import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointStore, treeChanges, treeState } from '../../src/pipeline/checkpoints.ts';
import { ownerAlive } from '../../src/pipeline/owner.ts';
import { globRegExp, pruneTree } from '../../src/pipeline/prune.ts';
import { silent } from '../../src/util/events.ts';

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

/** Every path with its type, mode, size, link target, link count and user xattrs: what a checkpoint must keep. */
function describeTree(root: string): string[] {
  const out: string[] = [];
  const visit = (rel: string) => {
    const abs = join(root, rel);
    const st = lstatSync(abs);
    const xattr = spawnSync('getfattr', ['-h', '-d', '--absolute-names', abs], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith('user.'));
    const what = st.isSymbolicLink() ? `-> ${readlinkSync(abs)}` : st.isFile() ? `${st.size} ${readFileSync(abs, 'utf8').slice(0, 20)} links=${st.nlink}` : 'dir';
    out.push(`${rel || '.'} ${(st.mode & 0o7777).toString(8)} ${what} ${xattr.join(',')}`);
    if (st.isDirectory()) for (const name of readdirSync(abs).sort()) visit(rel ? `${rel}/${name}` : name);
  };
  visit('');
  return out;
}

function sampleTree(): string {
  const root = tmp('kiln-ckpt-tree-');
  mkdirSync(join(root, 'etc/conf.d'), { recursive: true });
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  writeFileSync(join(root, 'etc/hostname'), 'one\n');
  writeFileSync(join(root, 'etc/conf.d/a'), 'a\n');
  writeFileSync(join(root, 'usr/bin/tool'), '#!/bin/sh\n');
  chmodSync(join(root, 'usr/bin/tool'), 0o4755);
  linkSync(join(root, 'usr/bin/tool'), join(root, 'usr/bin/tool-alias'));
  symlinkSync('usr/bin', join(root, 'bin'));
  spawnSync('setfattr', ['-n', 'user.kiln', '-v', 'kept', join(root, 'etc/hostname')]);
  return root;
}

test('a stored tree comes back the same: modes, hard and symbolic links, extended attributes', async () => {
  const store = new CheckpointStore(tmp('kiln-ckpt-store-'));
  const root = sampleTree();
  const saved = await store.save(root, { key: 'k1', stage: 'configure', kilnVersion: 't', image: '/img', fragments: { 'a.json': { x: 1 } } }, new Set());
  assert.ok(saved.size > 0);
  const back = tmp('kiln-ckpt-back-');
  const meta = await store.restore('k1', back);
  assert.deepEqual(meta.fragments, { 'a.json': { x: 1 } });
  assert.deepEqual(describeTree(back), describeTree(root));
  assert.match(describeTree(back).join('\n'), /etc\/hostname 644 4 one\n links=1 user\.kiln="kept"/);
});

test('a later checkpoint holds only what changed, removed paths included, and restores on top of its base', async () => {
  const store = new CheckpointStore(tmp('kiln-ckpt-store-'));
  const root = sampleTree();
  await store.save(root, { key: 'base', stage: 'configure', kilnVersion: 't', image: '/img', fragments: {} }, new Set());
  const before = treeState(root);
  writeFileSync(join(root, 'etc/hostname'), 'two\n');
  rmSync(join(root, 'etc/conf.d'), { recursive: true });
  writeFileSync(join(root, 'usr/bin/tool'), '#!/bin/sh\necho changed\n');
  rmSync(join(root, 'bin'));
  mkdirSync(join(root, 'bin'));
  writeFileSync(join(root, 'etc/new'), 'new\n');
  const changes = treeChanges(before, treeState(root));
  assert.deepEqual(changes.deleted, ['bin', 'etc/conf.d']);
  for (const p of ['etc/hostname', 'etc/new', 'usr/bin/tool', 'usr/bin/tool-alias', 'bin']) assert.ok(changes.changed.has(p), p);
  assert.ok(!changes.changed.has('usr'), 'an unchanged directory is not stored again');
  const diff = await store.save(root, { key: 'top', stage: 'customize', kilnVersion: 't', image: '/img', fragments: {}, base: 'base', deleted: changes.deleted }, new Set(), changes.changed);
  assert.ok(diff.size < (store.find('base')?.size ?? 0));
  const back = tmp('kiln-ckpt-back-');
  await store.restore('top', back);
  assert.deepEqual(describeTree(back), describeTree(root));
  assert.deepEqual(store.chain('top').map((c) => c.key), ['base', 'top']);
});

test('a damaged or orphaned checkpoint is never used; pruning takes what is built on a removed base', async () => {
  const store = new CheckpointStore(tmp('kiln-ckpt-store-'));
  const root = sampleTree();
  await store.save(root, { key: 'a', stage: 'configure', kilnVersion: 't', image: '/img', fragments: {} }, new Set());
  await store.save(root, { key: 'b', stage: 'customize', kilnVersion: 't', image: '/img', fragments: {}, base: 'a', deleted: [] }, new Set(), new Set(['etc']));
  await store.save(root, { key: 'c', stage: 'configure', kilnVersion: 't', image: '/other', fragments: {} }, new Set());
  assert.equal(store.list().length, 3);
  // Same size, other bytes: only the checksum tells.
  const tree = join(store.path('c'), 'tree.tar.zst');
  const bytes = readFileSync(tree);
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
  writeFileSync(tree, bytes);
  assert.equal(await store.verify(store.find('c')!), false);
  assert.equal(store.find('c'), undefined, 'a damaged checkpoint is removed');
  truncateSync(join(store.path('a'), 'tree.tar.zst'), 10);
  assert.equal(store.find('a'), undefined, 'a short tree file is not a checkpoint');
  assert.equal(store.find('b'), undefined, 'nor is one whose base is gone');
  await store.sweep(() => false);
  assert.deepEqual(readdirSync(store.dir), []);

  await store.save(root, { key: 'd', stage: 'configure', kilnVersion: 't', image: '/img', fragments: {} }, new Set());
  await store.save(root, { key: 'e', stage: 'prune', kilnVersion: 't', image: '/img', fragments: {}, base: 'd', deleted: [] }, new Set(), new Set(['etc']));
  await store.touch('d');
  const removed = await store.prune(1);
  assert.deepEqual(removed.map((c) => c.key).sort(), ['d', 'e']);
  assert.deepEqual(store.list(), []);
});

test('prune.remove: globs per component, ** for any depth, symlinks removed and never followed', async () => {
  const root = sampleTree();
  const outside = tmp('kiln-prune-outside-');
  writeFileSync(join(outside, 'keep'), 'x');
  symlinkSync(outside, join(root, 'etc/escape'));
  mkdirSync(join(root, 'usr/share/doc/a'), { recursive: true });
  mkdirSync(join(root, 'usr/share/locale/de/LC_MESSAGES'), { recursive: true });
  writeFileSync(join(root, 'usr/share/doc/a/copyright'), 'c');
  writeFileSync(join(root, 'usr/share/doc/.keep'), '');
  writeFileSync(join(root, 'usr/share/locale/de/LC_MESSAGES/x.mo'), '');
  writeFileSync(join(root, 'usr/share/locale/locale.alias'), '');
  const n = await pruneTree(root, ['/usr/share/doc/*', '/usr/share/locale/**/*.mo', 'etc/escape/keep', '/etc/escape', '/nothing/*'], silent);
  assert.equal(n, 3);
  assert.deepEqual(readdirSync(join(root, 'usr/share/doc')), ['.keep']);
  assert.deepEqual(readdirSync(join(root, 'usr/share/locale/de/LC_MESSAGES')), []);
  assert.ok(readdirSync(join(root, 'usr/share/locale')).includes('locale.alias'));
  assert.deepEqual(readdirSync(outside), ['keep'], 'nothing outside the tree is touched');
  await assert.rejects(pruneTree(root, ['/usr/../etc'], silent), /without "\.\."/);
  assert.ok(globRegExp('*.mo').test('x.mo') && !globRegExp('*.mo').test('.x.mo') && globRegExp('[a-c]?').test('b1'));
});

test('temporaries are named after their host-side owner: a dead owner’s (or PID 1’s from inside a namespace) are listed and swept, a live one’s kept', async () => {
  const store = new CheckpointStore(tmp('kiln-ckpt-store-'));
  const live = store.owner;
  assert.ok(ownerAlive(live), 'this process is alive');
  const boot = live.split('-')[2] as string;
  // PID 1 is alive, but not with the start time of the build that wrote this; an earlier boot's PID is never alive.
  const dead = [`.tmp-1-${Number(live.split('-')[1]) + 1}-${boot}-0a0b0c0d`, `.tmp-${process.pid}-${live.split('-')[1]}-00000000-0a0b0c0d`, '.tmp-1-3f2e1d0c'];
  for (const name of [...dead, `.tmp-${live}-0a0b0c0d`]) {
    mkdirSync(join(store.dir, name));
    writeFileSync(join(store.dir, name, 'tree.tar.zst'), Buffer.alloc(1000));
  }
  const leftovers = store.leftovers(ownerAlive);
  assert.deepEqual(leftovers.map((l) => l.name), [...dead].sort());
  assert.deepEqual(leftovers.map((l) => l.size), [1000, 1000, 1000]);
  const swept = await store.sweep(ownerAlive);
  assert.equal(swept.length, 3);
  assert.deepEqual(readdirSync(store.dir), [`.tmp-${live}-0a0b0c0d`], 'the live owner’s temporary stays');
});

test('a change put back on top of its base leaves the directories around it with their own times, owners and modes', async () => {
  const store = new CheckpointStore(tmp('kiln-ckpt-store-'));
  const root = sampleTree();
  const old = new Date('2020-01-02T03:04:05Z');
  utimesSync(join(root, 'etc'), old, old);
  await store.save(root, { key: 'base', stage: 'configure', kilnVersion: 't', image: '/img', fragments: {} }, new Set());
  const before = treeState(root);
  // Changed in place (its directory's time stays), and a directory's mode changed by the stage.
  writeFileSync(join(root, 'etc/hostname'), 'two\n');
  utimesSync(join(root, 'etc/hostname'), old, old);
  utimesSync(join(root, 'etc'), old, old);
  chmodSync(join(root, 'usr'), 0o750);
  const changes = treeChanges(before, treeState(root));
  await store.save(root, { key: 'top', stage: 'finalize', kilnVersion: 't', image: '/img', fragments: {}, base: 'base', deleted: changes.deleted }, new Set(), changes.changed);
  const back = tmp('kiln-ckpt-back-');
  await store.restore('top', back);
  assert.equal(statSync(join(back, 'etc')).mtimeMs, old.getTime(), "the directory of a changed file keeps its time");
  assert.equal(statSync(join(back, 'usr')).mode & 0o7777, 0o750, "a directory's changed mode comes back");
  assert.deepEqual(describeTree(back), describeTree(root));
});

test("the root directory's own mode and time come back from a checkpoint, and from a later one that changed them (finalize's clamp)", async () => {
  const store = new CheckpointStore(tmp('kiln-ckpt-store-'));
  const root = sampleTree();
  const first = new Date('2021-05-06T07:08:09Z');
  utimesSync(root, first, first);
  await store.save(root, { key: 'base', stage: 'configure', kilnVersion: 't', image: '/img', fragments: {} }, new Set());
  const back = tmp('kiln-ckpt-back-');
  await store.restore('base', back);
  assert.equal(statSync(back).mtimeMs, first.getTime());
  const before = treeState(root);
  const clamped = new Date('2020-01-02T03:04:05Z');
  chmodSync(root, 0o750);
  utimesSync(root, clamped, clamped);
  const changes = treeChanges(before, treeState(root));
  assert.ok(changes.changed.has(''), 'the root is a changed path');
  await store.save(root, { key: 'top', stage: 'finalize', kilnVersion: 't', image: '/img', fragments: {}, base: 'base', deleted: changes.deleted }, new Set(), changes.changed);
  const again = tmp('kiln-ckpt-back-');
  await store.restore('top', again);
  assert.equal(statSync(again).mtimeMs, clamped.getTime());
  assert.equal(statSync(again).mode & 0o7777, 0o750);
});
