import assert from 'node:assert/strict';
import { chmodSync, chownSync, createWriteStream, linkSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { parseGetfattr, readTar, readXattrs, sortBytewise, writeTreeAsTar } from '../../src/archive/index.ts';
import { collect, listTree, run, squeeze, tempDir } from '../fixtures/archive-helpers.ts';

const BIN = Buffer.from('fffe0080c3', 'hex');
const CLAMP = 1_600_000_000;

async function makeTree(root: string): Promise<void> {
  const r = (p: string): string => join(root, p);
  mkdirSync(r('usr/bin'), { recursive: true });
  mkdirSync(r('tmp'));
  mkdirSync(r('srv/shared'), { recursive: true });
  chmodSync(r('tmp'), 0o1777);
  chownSync(r('srv/shared'), 1000, 50);
  chmodSync(r('srv/shared'), 0o2775);
  writeFileSync(r('usr/bin/su'), 'su');
  chownSync(r('usr/bin/su'), 0, 0);
  chmodSync(r('usr/bin/su'), 0o4755);
  writeFileSync(r('usr/bin/ping'), 'ping');
  run('setcap', ['cap_net_raw+ep', r('usr/bin/ping')]);
  run('setfattr', ['-n', 'user.bin', '-v', '0xfffe0080c3', r('usr/bin/ping')]);
  run('setfattr', ['-n', 'user.dir', '-v', 'yes', r('srv')]);
  linkSync(r('usr/bin/ping'), r('usr/bin/ping6'));
  symlinkSync('usr/bin', r('bin'));
  writeFileSync(r('usr/bin/B'), 'upper case sorts first');
  writeFileSync(r('usr/bin/é'), 'utf-8');
  writeFileSync(r('big'), Buffer.alloc(3 << 20, 1));
  writeFileSync(r('old'), 'old');
  utimesSync(r('old'), 1000, 1000);
  run('mknod', [r('null'), 'c', '1', '3']);
  run('mkfifo', [r('fifo')]);
  const server = createServer();
  await new Promise<void>((ok) => server.listen(r('socket'), ok));
  server.close(); // the socket file stays; it must be skipped
  chownSync(r('old'), 1234, 5678);
}

test('writeTreeAsTar: GNU tar extracts the same tree (ids, modes, links, devices, xattrs)', async (t) => {
  const dir = tempDir(t);
  const src = join(dir, 'src');
  mkdirSync(src);
  await makeTree(src);
  const xattrs = await readXattrs(src);
  assert.ok(xattrs.get('usr/bin/ping')?.get('user.bin')?.equals(BIN));
  assert.equal(xattrs.get('srv')?.get('user.dir')?.toString(), 'yes');
  const file = join(dir, 'tree.tar');
  await writeTreeAsTar(src, createWriteStream(file), { mtimeClamp: CLAMP, xattrs });

  const names = squeeze(run('tar', ['-tf', file, '--quoting-style=literal']));
  assert.deepEqual(names, [
    './', './big', './bin', './fifo', './null', './old', './srv/', './srv/shared/', './tmp/',
    './usr/', './usr/bin/', './usr/bin/B', './usr/bin/ping', './usr/bin/ping6', './usr/bin/su', './usr/bin/é',
  ]);
  const out = join(dir, 'out');
  mkdirSync(out);
  run('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', file, '-C', out]);
  assert.deepEqual(listTree(out), listTree(src).filter((p) => p !== 'socket'));
  for (const p of listTree(out)) {
    const a = lstatSync(join(src, p));
    const b = lstatSync(join(out, p));
    assert.deepEqual([b.mode, b.uid, b.gid, b.rdev], [a.mode, a.uid, a.gid, a.rdev], p);
    if (!a.isSymbolicLink()) assert.equal(b.mtimeMs / 1000, Math.min(Math.floor(a.mtimeMs / 1000), CLAMP), p);
    if (a.isSymbolicLink()) assert.equal(readlinkSync(join(out, p)), readlinkSync(join(src, p)));
    if (a.isFile()) assert.ok(readFileSync(join(out, p)).equals(readFileSync(join(src, p))), p);
  }
  assert.equal(lstatSync(join(out, 'usr/bin/ping6')).ino, lstatSync(join(out, 'usr/bin/ping')).ino);
  const dump = (root: string) => run('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '.'], { cwd: root }).toString();
  assert.equal(dump(out), dump(src));
});

test('writeTreeAsTar is deterministic', async (t) => {
  const dir = tempDir(t);
  await makeTree(dir);
  const xattrs = await readXattrs(dir);
  const once = async () => {
    const out = new PassThrough();
    const done = collect(out);
    await writeTreeAsTar(dir, out, { mtimeClamp: CLAMP, xattrs });
    return done;
  };
  const a = await once();
  utimesSync(join(dir, 'usr/bin/su'), new Date(), new Date()); // newer than the clamp: no change
  const b = await once();
  assert.ok(a.equals(b));
  for await (const { entry } of readTar(a)) {
    assert.ok(entry.mtime <= CLAMP);
    assert.equal(entry.uname, '');
  }
});

test('readXattrs copes with awkward names; parseGetfattr unescapes', async (t) => {
  const dir = tempDir(t);
  const names = ['a b', 'nl\nx', 'back\\slash', 'é', 'eq=x'];
  for (const n of names) {
    writeFileSync(join(dir, n), '');
    run('setfattr', ['-n', 'user.t', '-v', '0x01ff', join(dir, n)]);
  }
  run('setfattr', ['-n', 'user.we=ird', '-v', '0x00', join(dir, 'a b')]);
  run('setfattr', ['-n', 'user.empty', join(dir, 'a b')]);
  symlinkSync('a b', join(dir, 'link')); // not followed: the link itself has no xattrs
  const map = await readXattrs(dir);
  assert.deepEqual([...map.keys()].sort(), [...names].sort());
  for (const n of names) assert.ok(map.get(n)?.get('user.t')?.equals(Buffer.from([1, 0xff])), n);
  assert.ok(map.get('a b')?.get('user.we=ird')?.equals(Buffer.from([0])));
  assert.equal(map.get('a b')?.get('user.empty')?.length, 0);
  const parsed = parseGetfattr(Buffer.from('# file: /r\nuser.x=0x41\n\n# file: /r/d/\\303\\251\nuser.y=0x42\n\n'), '/r');
  assert.deepEqual([...parsed.keys()], ['.', 'd/é']);
});

test('readXattrs: a missing getfattr is a clear error', async () => {
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    await assert.rejects(readXattrs('/tmp'), (err: Error & { hint?: string }) => /getfattr is not installed/.test(err.message) && /"attr"/.test(err.hint ?? ''));
  } finally {
    process.env.PATH = path;
  }
});

test('sortBytewise orders by UTF-8 bytes', () => {
  assert.deepEqual(sortBytewise(['b', 'B', 'a', '\u{1F600}', '\uFF5E', '_']), ['B', '_', 'a', 'b', '\uFF5E', '\u{1F600}']);
});
