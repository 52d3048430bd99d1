import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { ArchiveError, decompress, readAr, readDeb, readTar } from '../../src/archive/index.ts';
import { realDebs, run, squeeze, tempDir, tvLine } from '../fixtures/archive-helpers.ts';

test('readAr reads what binutils ar wrote: long names, odd sizes, views not copies', (t) => {
  const dir = tempDir(t);
  const files: Record<string, Buffer> = {
    'short.txt': Buffer.from('odd'),
    'a-rather-long-member-name.bin': Buffer.from([0, 1, 2, 255]),
    'another-long-name-for-the-table.data': Buffer.alloc(1001, 7),
    e: Buffer.alloc(0),
  };
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  run('ar', ['rc', 'x.a', ...Object.keys(files)], { cwd: dir });
  const buf = readFileSync(join(dir, 'x.a'));
  const members = readAr(buf);
  assert.deepEqual(
    members.map((m) => m.name),
    Object.keys(files),
  );
  for (const m of members) {
    assert.ok(m.data.equals(files[m.name] as Buffer), m.name);
    assert.equal(m.data.buffer, buf.buffer, 'a view into the input');
  }
});

test('readAr rejects garbage and truncation', () => {
  assert.throws(() => readAr(Buffer.from('hello world')), /not an ar archive/);
  const header = (name: string, size: number, magic = '`\n'): string =>
    name.padEnd(16) + '0'.padEnd(12) + '0'.padEnd(6) + '0'.padEnd(6) + '644'.padEnd(8) + String(size).padEnd(10) + magic;
  assert.throws(() => readAr(Buffer.from(`!<arch>\n${header('a/', 100)}short`)), /truncated ar archive/);
  assert.throws(() => readAr(Buffer.from(`!<arch>\n${header('a/', 1, 'xx')}x`)), /bad member header/);
  assert.throws(() => readAr(Buffer.from(`!<arch>\n${header('a/', 1).slice(0, 40)}`)), /cut short/);
  assert.throws(() => readAr(Buffer.from(`!<arch>\n${header('/10', 1)}x`)), /long name/);
});

test('readDeb on real packages agrees with dpkg-deb', async (t) => {
  const debs = realDebs(['coreutils', 'tzdata']);
  if (debs.length === 0) return t.skip('no .deb available (no apt cache, no mirror)');
  for (const deb of debs) {
    const buf = readFileSync(deb);
    const parts = readDeb(buf, basename(deb));
    assert.equal(parts.data.kind, parts.data.name.endsWith('.xz') ? 'xz' : parts.data.name.endsWith('.zst') ? 'zst' : 'gz');
    // data.tar listing, line by line, as dpkg-deb -c (GNU tar -tv) prints it
    const lines: string[] = [];
    for await (const { entry } of readTar(decompress(parts.data.data, parts.data.kind))) lines.push(tvLine(entry, false));
    assert.deepEqual(lines, squeeze(run('dpkg-deb', ['-c', deb])), deb);
    // control file from control.tar
    let control: Buffer | undefined;
    for await (const { entry, body } of readTar(decompress(parts.control.data, parts.control.kind))) {
      if (entry.path === 'control') control = await body.buffer();
    }
    assert.ok(control?.equals(run('dpkg-deb', ['-I', deb, 'control'])), `control of ${deb}`);
  }
});

test('readDeb handles zst, gz and uncompressed members (built by dpkg-deb)', async (t) => {
  const dir = tempDir(t);
  const pkg = join(dir, 'pkg');
  mkdirSync(join(pkg, 'DEBIAN'), { recursive: true });
  mkdirSync(join(pkg, 'usr/share/kiln'), { recursive: true });
  writeFileSync(join(pkg, 'DEBIAN/control'), 'Package: kiln-test\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: test\n');
  writeFileSync(join(pkg, 'usr/share/kiln/hello'), 'hello\n');
  for (const [z, kind] of [['zstd', 'zst'], ['gzip', 'gz'], ['none', 'none']] as const) {
    const out = join(dir, `t-${z}.deb`);
    run('dpkg-deb', ['--root-owner-group', `-Z${z}`, '-b', pkg, out]);
    const parts = readDeb(readFileSync(out));
    assert.equal(parts.data.kind, kind, z);
    const names: string[] = [];
    for await (const { entry, body } of readTar(decompress(parts.data.data, parts.data.kind))) {
      names.push(entry.path);
      if (entry.path === 'usr/share/kiln/hello') assert.equal((await body.buffer()).toString(), 'hello\n');
    }
    assert.deepEqual(names, ['.', 'usr', 'usr/share', 'usr/share/kiln', 'usr/share/kiln/hello']);
  }
});

test('readDeb: clear errors for things that are not a .deb', (t) => {
  const dir = tempDir(t);
  assert.throws(() => readDeb(Buffer.from('<html>404</html>'), 'foo.deb'), (err: unknown) => {
    assert.ok(err instanceof ArchiveError);
    assert.match(err.message, /^foo\.deb is not a Debian package: not an ar archive/);
    return true;
  });
  writeFileSync(join(dir, 'a'), 'x');
  run('ar', ['rc', 'lib.a', 'a'], { cwd: dir });
  assert.throws(() => readDeb(readFileSync(join(dir, 'lib.a'))), /is not a Debian package: its first member is not "debian-binary"/);
  writeFileSync(join(dir, 'debian-binary'), '2.0\n');
  run('ar', ['rc', 'half.deb', 'debian-binary'], { cwd: dir });
  assert.throws(() => readDeb(readFileSync(join(dir, 'half.deb'))), /no control\.tar member/);
  writeFileSync(join(dir, 'control.tar.bz2'), 'x');
  run('ar', ['rc', 'bz.deb', 'debian-binary', 'control.tar.bz2'], { cwd: dir });
  assert.throws(() => readDeb(readFileSync(join(dir, 'bz.deb'))), /unsupported compression of control\.tar\.bz2/);
  const debs = realDebs(['tzdata']);
  if (debs[0]) {
    const buf = readFileSync(debs[0]);
    assert.throws(() => readDeb(buf.subarray(0, buf.length - 1000)), /truncated ar archive/);
  }
});
