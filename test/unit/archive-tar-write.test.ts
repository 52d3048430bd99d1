import assert from 'node:assert/strict';
import { createWriteStream, lstatSync, mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import { readTar, TarWriter, type TarEntry } from '../../src/archive/index.ts';
import { collect, run, squeeze, tempDir, tvLine } from '../fixtures/archive-helpers.ts';

const BIN = Buffer.from('fffe0080c3', 'hex');
// cap_net_raw,cap_setuid+ep as the kernel stores it (VFS_CAP_REVISION_2).
const CAPS = Buffer.from('0100000280200000000000000000000000000000', 'hex');

function entry(path: string, type: TarEntry['type'], more: Partial<TarEntry> = {}): TarEntry {
  return { path, type, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: 1700000000, size: 0, xattrs: new Map(), ...more };
}

const LONG = `./${'a'.repeat(80)}/${'b'.repeat(80)}/${'c'.repeat(80)}/${'d'.repeat(80)}.txt`;
const BIGDATA = Buffer.alloc(600_000, 0x5a);

/** Everything the writer can express, with its data. */
function sample(): [TarEntry, (Buffer | Readable)?][] {
  return [
    [entry('./', 'dir')],
    [entry('./bin', 'dir', { mode: 0o755 })],
    [entry('./bin/su', 'file', { mode: 0o4755, uid: 0, gid: 0, size: 3 }), Buffer.from('su\n')],
    [entry('./bin/ping', 'file', { mode: 0o755, size: 4, xattrs: new Map([['security.capability', CAPS], ['user.bin', BIN]]) }), Buffer.from('ping')],
    [entry('./bin/ping2', 'hardlink', { mode: 0o755, linkpath: './bin/ping' })],
    [entry('./dev', 'dir')],
    [entry('./dev/null', 'char', { mode: 0o666, devmajor: 1, devminor: 3 })],
    [entry('./dev/sda1', 'block', { mode: 0o660, gid: 6, devmajor: 8, devminor: 1 })],
    [entry('./dev/initctl', 'fifo', { mode: 0o600 })],
    [entry('./tmp', 'dir', { mode: 0o1777 })],
    [entry('./srv', 'dir', { mode: 0o2775, uid: 3000000, gid: 4000000 })],
    [entry('./big', 'file', { size: BIGDATA.length }), Readable.from([BIGDATA.subarray(0, 100_000), BIGDATA.subarray(100_000)])],
    [entry('./héllo', 'file', { size: 2 }), Buffer.from('hi')],
    [entry(LONG, 'file', { size: 1 }), Buffer.from('L')],
    [entry('./longlink', 'symlink', { mode: 0o777, linkpath: `../${'t'.repeat(200)}` })],
    [entry('./sym', 'symlink', { mode: 0o777, linkpath: 'bin/su' })],
    [entry('./old', 'file', { mtime: 100, size: 0, uname: 'someone-with-a-very-long-user-name', gname: 'grp' })],
  ];
}

async function writeSample(out: Writable): Promise<void> {
  const w = new TarWriter(out);
  for (const [e, data] of sample()) await w.add(e, data);
  await w.finish();
}

test('GNU tar lists and extracts what TarWriter wrote, xattrs byte-exact', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'out.tar');
  await writeSample(createWriteStream(file));
  const listing = squeeze(run('tar', ['-tv', '--numeric-owner', '--utc', '--quoting-style=literal', '-f', file]));
  const expected = sample().map(([e]) => tvLine({ ...e, path: e.path.replace(/^\.\//, '').replace(/\/$/, '') || '.', linkpath: e.type === 'hardlink' ? e.linkpath?.slice(2) : e.linkpath }, true));
  assert.deepEqual(listing, expected);
  // Extract as root with GNU tar and check the result with stat and getfattr.
  const x = join(dir, 'x');
  mkdirSync(x);
  run('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', file, '-C', x]);
  const st = (p: string) => lstatSync(join(x, p));
  assert.equal(st('bin/su').mode & 0o7777, 0o4755);
  assert.equal(st('tmp').mode & 0o7777, 0o1777);
  assert.equal(st('srv').mode & 0o7777, 0o2775);
  assert.deepEqual([st('srv').uid, st('srv').gid], [3000000, 4000000]);
  assert.equal(st('bin/ping2').ino, st('bin/ping').ino);
  assert.ok(st('dev/null').isCharacterDevice());
  assert.equal(st('dev/null').rdev, (1 << 8) | 3);
  assert.ok(st('dev/sda1').isBlockDevice());
  assert.ok(st('dev/initctl').isFIFO());
  assert.equal(readlinkSync(join(x, 'longlink')), `../${'t'.repeat(200)}`);
  assert.ok(readFileSync(join(x, 'big')).equals(BIGDATA));
  assert.equal(readFileSync(join(x, 'héllo'), 'utf8'), 'hi');
  assert.equal(readFileSync(join(x, LONG), 'utf8'), 'L');
  assert.equal(st('old').mtimeMs, 100_000);
  const xattr = (name: string) => run('getfattr', ['-n', name, '-e', 'hex', '--only-values', join(x, 'bin/ping')]);
  assert.ok(xattr('user.bin').equals(BIN));
  assert.ok(xattr('security.capability').equals(CAPS));
  assert.match(run('getcap', [join(x, 'bin/ping')]).toString(), / cap_setuid,cap_net_raw=ep$/m);
  // python's tarfile agrees on the names too.
  const py = run('python3', ['-c', 'import sys,tarfile; print("\\n".join(tarfile.open(sys.argv[1]).getnames()))', file]).toString().trim().split('\n');
  assert.deepEqual(py, sample().map(([e]) => e.path.replace(/\/$/, '') || '.'));
});

test('output is deterministic, and our reader reads it back', async () => {
  const write = async () => {
    const out = new PassThrough();
    const done = collect(out);
    await writeSample(out);
    return done;
  };
  const [a, b] = [await write(), await write()];
  assert.ok(a.equals(b));
  assert.equal(a.length % 512, 0);
  assert.ok(a.subarray(-1024).equals(Buffer.alloc(1024)), 'ends with two zero blocks');
  const back: TarEntry[] = [];
  for await (const { entry: e, body } of readTar(a)) {
    back.push(e);
    if (e.path === 'big') assert.ok((await body.buffer()).equals(BIGDATA));
  }
  const ping = back.find((e) => e.path === 'bin/ping');
  assert.ok(ping?.xattrs.get('user.bin')?.equals(BIN));
  assert.ok(ping?.xattrs.get('security.capability')?.equals(CAPS));
  assert.equal(back.find((e) => e.path === 'old')?.uname, 'someone-with-a-very-long-user-name');
  assert.equal(back.find((e) => e.path === 'srv')?.uid, 3000000);
});

test('a pax header only where needed, with fixed content', async () => {
  const out = new PassThrough();
  const done = collect(out);
  const w = new TarWriter(out);
  await w.add(entry('./plain', 'file', { size: 1 }), Buffer.from('p'));
  await w.add(entry('./fits/in/ustar/with/a/prefix/' + 'x'.repeat(90), 'file'));
  await w.add(entry('./ü', 'file'));
  await w.finish();
  const tar = await done;
  assert.equal(tar.length, 512 * 2 + 512 + (512 + 512 + 512) + 1024);
  assert.equal(tar.toString('latin1', 512 * 3, 512 * 3 + 9), 'PaxHeader');
  const record = Buffer.from('13 path=./ü\n');
  assert.ok(tar.subarray(512 * 4, 512 * 4 + record.length).equals(record));
  assert.equal(tar[512 * 4 + record.length], 0);
  assert.doesNotMatch(tar.toString('latin1'), /atime|ctime/);
});

test('add honours backpressure and refuses inconsistent input', async () => {
  let maxBuffered = 0;
  const chunks: Buffer[] = [];
  const slow = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, cb) {
      maxBuffered = Math.max(maxBuffered, this.writableLength);
      chunks.push(chunk);
      setTimeout(cb, 1);
    },
  });
  const w = new TarWriter(slow);
  for (let i = 0; i < 50; i++) await w.add(entry(`./f${i}`, 'file', { size: 20_000 }), Buffer.alloc(20_000, i));
  await w.finish();
  const tar = Buffer.concat(chunks);
  let n = 0;
  for await (const { entry: e, body } of readTar(tar)) {
    assert.ok((await body.buffer()).equals(Buffer.alloc(20_000, n)), e.path);
    n++;
  }
  assert.equal(n, 50);
  // 1 MB went through; without waiting for 'drain' it would all have been queued at once.
  assert.ok(maxBuffered < 400_000, `at most one batch queued, saw ${maxBuffered} bytes`);

  const w2 = new TarWriter(new PassThrough());
  await assert.rejects(w2.add(entry('./x', 'file', { size: 5 }), Buffer.from('abc')), /3 bytes of data for size 5/);
  const w3 = new TarWriter(new PassThrough());
  await assert.rejects(w3.add(entry('./x', 'file', { size: 5 }), Readable.from([Buffer.from('abcdefg')])), /longer than its size 5/);
  const w4 = new TarWriter(new PassThrough());
  await assert.rejects(w4.add(entry('./x', 'file', { size: 5 })), /no data/);
});

test('a destroyed output is an error, not a hang', async () => {
  const out = new Writable({
    highWaterMark: 16,
    write(_c, _e, cb) {
      setTimeout(() => cb(new Error('disk full')), 1);
    },
  });
  out.on('error', () => {});
  const w = new TarWriter(out);
  await assert.rejects(async () => {
    for (let i = 0; i < 100; i++) await w.add(entry(`./f${i}`, 'file', { size: 300_000 }), Buffer.alloc(300_000));
  }, /disk full/);
});
