import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, linkSync, writeFileSync, chmodSync, chownSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeHeader, parseTar, readTar, type TarEntry } from '../../src/archive/index.ts';
import { collect, pyTar, run, squeeze, tempDir, tvLine } from '../fixtures/archive-helpers.ts';

const LONG_DIR = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(60)}`;
const LONG_FILE = `${LONG_DIR}/${'g'.repeat(120)}.txt`; // > 256 bytes: neither name nor prefix+name holds it
const BIN = Buffer.from('fffe0080c3', 'hex');

/** A tree exercising everything GNU tar can store; returns its path. */
function makeTree(root: string): void {
  mkdirSync(join(root, 'tree', LONG_DIR), { recursive: true });
  const r = (p: string): string => join(root, 'tree', p);
  writeFileSync(r(LONG_FILE), 'long\n');
  writeFileSync(r('plain'), 'hello\n');
  writeFileSync(r('setuid'), '#!/bin/sh\n');
  chownSync(r('setuid'), 1234, 5678); // before chmod: chown clears setuid
  chmodSync(r('setuid'), 0o4755);
  linkSync(r('plain'), r('hard'));
  symlinkSync(`../${'t'.repeat(150)}`, r('longlink'));
  symlinkSync('plain', r('sym'));
  writeFileSync(r('héllo wörld'), 'utf8\n');
  run('mknod', [r('null'), 'c', '1', '3']);
  run('mknod', [r('disk'), 'b', '8', '1']);
  run('mkfifo', [r('fifo')]);
  writeFileSync(r('caps'), 'x');
  run('setcap', ['cap_net_raw,cap_setuid+ep', r('caps')]);
  run('setfattr', ['-n', 'user.bin', '-v', '0xfffe0080c3', r('caps')]);
  utimesSync(r('plain'), 1700000000, 1700000000);
}

function gnuTar(root: string, format: string, extra: string[] = []): Buffer {
  return run('tar', ['--sort=name', `--format=${format}`, ...extra, '-cf', '-', '-C', join(root, 'tree'), '.']);
}

async function list(archive: Buffer): Promise<{ entries: TarEntry[]; data: Map<string, Buffer> }> {
  const entries: TarEntry[] = [];
  const data = new Map<string, Buffer>();
  for await (const { entry, body } of readTar(archive)) {
    entries.push(entry);
    if (entry.type === 'file') data.set(entry.path, await collect(body));
  }
  return { entries, data };
}

for (const format of ['gnu', 'posix', 'oldgnu'] as const) {
  test(`reads GNU tar --format=${format} exactly as tar -tv lists it`, async (t) => {
    const root = tempDir(t);
    makeTree(root);
    const archive = gnuTar(root, format, format === 'posix' ? ['--xattrs', '--xattrs-include=*', '--pax-option=delete=atime,delete=ctime'] : []);
    const { entries, data } = await list(archive);
    const expected = squeeze(run('tar', ['-tv', '--numeric-owner', '--utc', '--quoting-style=literal', '-f', '-'], { input: archive }));
    assert.deepEqual(
      entries.map((e) => tvLine(e, true)),
      expected,
    );
    assert.equal(data.get(LONG_FILE)?.toString(), 'long\n');
    assert.equal(data.get('héllo wörld')?.toString(), 'utf8\n');
    // Sorted by name, `hard` comes first and carries the data; `plain` links to it.
    assert.equal(data.get('hard')?.toString(), 'hello\n');
    const plain = entries.find((e) => e.path === 'plain');
    assert.deepEqual([plain?.type, plain?.linkpath], ['hardlink', 'hard']);
    assert.equal(entries.find((e) => e.path === 'setuid')?.mode, 0o4755);
    if (format === 'posix') {
      const caps = entries.find((e) => e.path === 'caps');
      assert.ok(caps?.xattrs.get('user.bin')?.equals(BIN), 'binary xattr kept byte-exact');
      const getcap = run('getfattr', ['-n', 'security.capability', '-e', 'hex', '--only-values', join(root, 'tree/caps')]);
      assert.ok(caps?.xattrs.get('security.capability')?.equals(getcap), 'security.capability byte-exact');
    }
  });
}

test('ustar prefix field, base-256 ids and negative times', async (t) => {
  const root = tempDir(t);
  const dir = `${'p'.repeat(90)}/${'q'.repeat(50)}`;
  mkdirSync(join(root, 'tree', dir), { recursive: true });
  writeFileSync(join(root, 'tree', dir, 'n'.repeat(90)), 'x');
  const ustar = await list(gnuTar(root, 'ustar'));
  assert.ok(ustar.entries.some((e) => e.path === `${dir}/${'n'.repeat(90)}`));
  // (Node turns a negative number into "now"; a Date is taken as it is.)
  utimesSync(join(root, 'tree', dir, 'n'.repeat(90)), new Date(-315619200_000), new Date(-315619200_000));
  const big = gnuTar(root, 'gnu', ['--owner=3000000', '--group=4000000']);
  const { entries } = await list(big);
  assert.deepEqual([...new Set(entries.map((e) => `${e.uid}:${e.gid}`))], ['3000000:4000000']);
  assert.equal(entries.find((e) => e.type === 'file')?.mtime, -315619200);
});

test('pax global headers, LIBARCHIVE.xattr and per-entry overrides', async () => {
  const archive = pyTar(
    [
      { name: './a', data: 'A' },
      { name: './b', data: 'B', pax: { uname: 'local', 'LIBARCHIVE.xattr.user.a%3Db': BIN.toString('base64'), 'SCHILY.xattr.user.c': 'plain' } },
    ],
    'pax',
    { uname: 'global', comment: 'made by a test' },
  );
  const { entries } = await list(archive);
  assert.deepEqual(
    entries.map((e) => [e.path, e.uname]),
    [
      ['a', 'global'],
      ['b', 'local'],
    ],
  );
  const b = entries[1] as TarEntry;
  assert.ok(b.xattrs.get('user.a=b')?.equals(BIN));
  assert.equal(b.xattrs.get('user.c')?.toString(), 'plain');
  assert.deepEqual(
    entries.map((e) => tvLine(e, false)),
    squeeze(run('tar', ['-tv', '--utc', '-f', '-'], { input: archive })),
  );
});

test('a 100 MB member streams in chunks, and unread bodies are skipped', async () => {
  const size = 100 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const base = { type: 'file' as const, mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: 0, xattrs: new Map() };
  async function* source(): AsyncGenerator<Buffer> {
    yield encodeHeader({ ...base, path: 'skipped', size });
    for (let i = 0; i < size / chunk.length; i++) yield chunk;
    yield encodeHeader({ ...base, path: 'big', size });
    for (let i = 0; i < size / chunk.length; i++) yield chunk;
    yield encodeHeader({ ...base, path: 'small', size: 3 });
    yield Buffer.concat([Buffer.from('end'), Buffer.alloc(509 + 1024)]);
  }
  const seen: string[] = [];
  const rssBefore = process.memoryUsage().rss;
  let total = 0;
  let largest = 0;
  for await (const { entry, body } of readTar(source())) {
    seen.push(entry.path);
    if (entry.path === 'big') {
      for await (const c of body) {
        total += c.length;
        largest = Math.max(largest, c.length);
      }
    }
    if (entry.path === 'small') assert.equal((await body.buffer()).toString(), 'end');
  }
  assert.deepEqual(seen, ['skipped', 'big', 'small']);
  assert.equal(total, size);
  assert.ok(largest <= chunk.length, `largest chunk ${largest}`);
  assert.ok(process.memoryUsage().rss - rssBefore < 50 * 1024 * 1024, 'memory stays flat');
});

test('parseTar callback API; paths lose ./ and trailing /', async () => {
  const archive = pyTar([
    { name: './', type: 'dir' },
    { name: './x/', type: 'dir' },
    { name: '././x/y', data: 'Y' },
    { name: 'x/z', type: 'hardlink', linkname: './x/y' },
  ]);
  const got: string[] = [];
  await parseTar(archive, async (e, body) => {
    got.push(`${e.type}:${e.path}${e.linkpath ? `>${e.linkpath}` : ''}${e.size ? `=${(await body.buffer()).toString()}` : ''}`);
  });
  assert.deepEqual(got, ['dir:.', 'dir:x', 'file:x/y=Y', 'hardlink:x/z>x/y']);
});

test('truncated and corrupt archives are errors, never partial results', async (t) => {
  const root = tempDir(t);
  makeTree(root);
  const good = gnuTar(root, 'gnu');
  const ok = await list(good);
  assert.ok(ok.entries.length > 10);
  // Cut inside a member's data, inside a header, and at a header boundary (no end marker).
  const plainHeader = good.indexOf(Buffer.from('./plain\0'));
  for (const cut of [plainHeader + 512 + 3, plainHeader + 100, plainHeader]) {
    await assert.rejects(list(good.subarray(0, cut)), /truncated tar archive/, `cut at ${cut}`);
  }
  // ...unless the caller accepts a missing end marker at a boundary (Alpine segments).
  const entries: string[] = [];
  for await (const { entry } of readTar(good.subarray(0, plainHeader), { allowMissingEnd: true })) entries.push(entry.path);
  assert.ok(entries.length > 0 && !entries.includes('plain'));
  // A flipped byte fails the checksum.
  const bad = Buffer.from(good);
  bad.writeUInt8((bad[plainHeader + 3] as number) ^ 0x20, plainHeader + 3);
  await assert.rejects(list(bad), /checksum mismatch/);
  // Garbage in a numeric field.
  const badSize = Buffer.from(good);
  badSize.write('12x4', plainHeader + 124, 'latin1');
  await assert.rejects(list(badSize), /corrupt tar archive/);
  // A pax record whose length runs past its header.
  const pax = pyTar([{ name: 'a', data: 'A', pax: { comment: 'x' } }], 'pax');
  const rec = pax.indexOf(Buffer.from(' comment='));
  const badPax = Buffer.from(pax);
  badPax.write('99', rec - 2, 'latin1');
  fixChecksum(badPax, 0);
  await assert.rejects(list(badPax), /bad pax extended header record/);
  // Not a tar at all.
  await assert.rejects(list(readFileSync('/etc/os-release')), /corrupt tar archive|truncated/);
});

test('sparse and unknown member types are refused', async () => {
  const archive = pyTar([{ name: 'a', data: 'A' }]);
  const s = Buffer.from(archive);
  s[156] = 'S'.charCodeAt(0);
  fixChecksum(s, 0);
  await assert.rejects(list(s), /unsupported tar entry type "S"/);
  const p = pyTar([{ name: 'a', data: 'A', pax: { 'GNU.sparse.major': '1' } }], 'pax');
  await assert.rejects(list(p), /sparse/);
});

function fixChecksum(buf: Buffer, at: number): void {
  buf.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = at; i < at + 512; i++) sum += buf[i] as number;
  buf.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1');
}
