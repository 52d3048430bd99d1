import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createExtractor, decompress, extractTar, readDeb, resolveInRoot, type TarEntry } from '../../src/archive/index.ts';
import { listTree, pyTar, realDebs, run, tempDir, type PyMember } from '../fixtures/archive-helpers.ts';

/** A name unique to this run, so that an escape is seen (and cleaned up) on the host. */
const TAG = `kiln-escape-${randomBytes(4).toString('hex')}`;

interface Hostile {
  name: string;
  members: (parent: string) => PyMember[];
  /** Paths (relative to the root) that must exist afterwards, when the archive is accepted. */
  inside?: string[] | ((parent: string) => string[]);
  rejects?: RegExp;
}

const HOSTILE: Hostile[] = [
  { name: '../x', members: () => [{ name: `../${TAG}`, data: 'x' }], rejects: /contains "\.\."/ },
  { name: '/etc/x', members: () => [{ name: `/etc/${TAG}`, data: 'x' }], rejects: /absolute path/ },
  { name: 'a/../../x', members: () => [{ name: 'a', type: 'dir' }, { name: `a/../../${TAG}`, data: 'x' }], rejects: /contains "\.\."/ },
  {
    name: 'evil -> / then evil/etc/x',
    members: () => [{ name: 'evil', type: 'symlink', linkname: '/' }, { name: `evil/etc/${TAG}`, data: 'x' }],
    inside: [`etc/${TAG}`],
  },
  {
    name: 'up -> ../.. then up/x',
    members: () => [{ name: 'up', type: 'symlink', linkname: '../..' }, { name: `up/${TAG}`, data: 'x' }],
    inside: [TAG],
  },
  {
    name: 'deep relative link a/b/up -> ../../../..',
    members: () => [{ name: 'a/b', type: 'dir' }, { name: 'a/b/up', type: 'symlink', linkname: '../../../..' }, { name: `a/b/up/${TAG}`, data: 'x' }],
    inside: [TAG],
  },
  { name: 'hard link to /etc/passwd', members: () => [{ name: 'pw', type: 'hardlink', linkname: '/etc/passwd' }], rejects: /absolute hard link target/ },
  { name: 'hard link to ../../etc/passwd', members: () => [{ name: 'pw', type: 'hardlink', linkname: '../../etc/passwd' }], rejects: /hard link target contains/ },
  {
    name: 'hard link through a symlink to /etc',
    members: () => [{ name: 'e', type: 'symlink', linkname: '/etc' }, { name: 'pw', type: 'hardlink', linkname: 'e/passwd' }],
    rejects: /hard link target e\/passwd does not exist/,
  },
  {
    name: 'symlink chain ending in the parent directory (absolute)',
    members: (parent) => [
      { name: 'l1', type: 'symlink', linkname: 'l2' },
      { name: 'l2', type: 'symlink', linkname: 'sub/l3' },
      { name: 'sub', type: 'dir' },
      { name: 'sub/l3', type: 'symlink', linkname: parent },
      { name: `l1/${TAG}`, data: 'x' },
    ],
    inside: (parent) => [`${parent.slice(1)}/${TAG}`],
  },
  {
    name: 'symlink loop',
    members: () => [{ name: 'a', type: 'symlink', linkname: 'b' }, { name: 'b', type: 'symlink', linkname: 'a' }, { name: 'a/x', data: 'x' }],
    rejects: /too many levels of symbolic links/,
  },
  {
    name: 'a file written over a symlink to outside replaces the symlink',
    members: (parent) => [{ name: 'victim', type: 'symlink', linkname: `${parent}/outside` }, { name: 'victim', data: 'pwned' }],
    inside: ['victim'],
  },
  {
    name: 'a directory entry over a symlink to outside, then a file in it',
    members: (parent) => [{ name: 'd', type: 'symlink', linkname: `${parent}` }, { name: 'd', type: 'dir' }, { name: `d/${TAG}`, data: 'x' }],
    inside: [`d/${TAG}`],
  },
];

for (const h of HOSTILE) {
  test(`hostile archive: ${h.name}`, async (t) => {
    const parent = tempDir(t, 'hostile');
    const root = join(parent, 'root');
    mkdirSync(root);
    writeFileSync(join(parent, 'outside'), 'precious');
    const before = listTree(parent);
    const archive = pyTar(h.members(parent));
    try {
      const run = extractTar(archive, root, { chown: true });
      if (h.rejects) await assert.rejects(run, h.rejects);
      else await run;
      const inside = typeof h.inside === 'function' ? h.inside(parent) : (h.inside ?? []);
      for (const p of inside) assert.ok(existsSync(join(root, p)), `${p} inside the root`);
      // Nothing changed outside the root.
      assert.deepEqual(listTree(parent).filter((p) => !p.startsWith('root/')), before);
      assert.equal(readFileSync(join(parent, 'outside'), 'utf8'), 'precious');
    } finally {
      for (const p of [`/etc/${TAG}`, `/${TAG}`, `/tmp/${TAG}`, join(parent, TAG)]) {
        const escaped = existsSync(p);
        rmSync(p, { force: true });
        assert.ok(!escaped, `escaped to ${p}`);
      }
    }
    if (h.name.includes('replaces the symlink')) {
      assert.ok(lstatSync(join(root, 'victim')).isFile());
      assert.equal(readFileSync(join(root, 'victim'), 'utf8'), 'pwned');
    }
  });
}

test('merged /usr: ./bin/foo lands in usr/bin/foo and the bin symlink stays', async (t) => {
  for (const target of ['usr/bin', '/usr/bin']) {
    const root = tempDir(t, 'merged');
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    symlinkSync(target, join(root, 'bin'));
    const archive = pyTar([
      { name: './', type: 'dir' },
      { name: './bin/', type: 'dir' },
      { name: './bin/foo', data: 'foo', mode: 0o755 },
      { name: './bin/sh', type: 'symlink', linkname: 'dash' },
    ]);
    const result = await extractTar(archive, root, { chown: true });
    assert.equal(readlinkSync(join(root, 'bin')), target);
    assert.equal(readFileSync(join(root, 'usr/bin/foo'), 'utf8'), 'foo');
    assert.equal(readlinkSync(join(root, 'usr/bin/sh')), 'dash');
    assert.deepEqual(result.paths, ['bin', 'bin/foo', 'bin/sh']);
    assert.equal(resolveInRoot(root, '/bin/foo'), join(root, 'usr/bin/foo'));
    assert.equal(resolveInRoot(root, 'bin/../../../bin'), join(root, 'usr/bin'));
  }
});

test('metadata matches GNU tar extracting the same archive as root', async (t) => {
  const dir = tempDir(t);
  const archive = pyTar(
    [
      { name: 'd', type: 'dir', mode: 0o750, uid: 1234, gid: 5678 },
      { name: 'd/su', data: 'su', mode: 0o4755, uid: 0, gid: 0 },
      { name: 'd/sg', data: 'sg', mode: 0o2711, uid: 1234, gid: 5678 },
      { name: 'd/link', type: 'symlink', linkname: 'su', uid: 1234, gid: 5678 },
      { name: 'd/hard', type: 'hardlink', linkname: 'd/sg' },
      { name: 'tmp', type: 'dir', mode: 0o1777 },
      { name: 'fifo', type: 'fifo', mode: 0o640 },
      { name: 'null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
    ],
    'pax',
  );
  const ours = join(dir, 'ours');
  const theirs = join(dir, 'theirs');
  mkdirSync(ours);
  mkdirSync(theirs);
  const result = await extractTar(archive, ours, { chown: true });
  assert.deepEqual(result.warnings, []);
  run('tar', ['--numeric-owner', '-xpf', '-', '-C', theirs], { input: archive });
  assert.deepEqual(listTree(ours), listTree(theirs));
  for (const p of listTree(theirs)) {
    const a = lstatSync(join(ours, p));
    const b = lstatSync(join(theirs, p));
    assert.deepEqual([a.mode, a.uid, a.gid, a.rdev, a.mtimeMs, a.nlink], [b.mode, b.uid, b.gid, b.rdev, b.mtimeMs, b.nlink], p);
  }
});

test('replacing: files are not written through hard links or symlinks; non-empty dirs are kept', async (t) => {
  const root = tempDir(t);
  writeFileSync(join(root, 'a'), 'original');
  linkSync(join(root, 'a'), join(root, 'b'));
  mkdirSync(join(root, 'full'));
  writeFileSync(join(root, 'full/x'), '');
  const ex = createExtractor(root, { chown: false });
  const file = (path: string, data: string): [TarEntry, Buffer] => [
    { path, type: 'file', mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: 1, size: data.length, xattrs: new Map() },
    Buffer.from(data),
  ];
  await ex.apply(...file('b', 'new'));
  assert.equal(readFileSync(join(root, 'a'), 'utf8'), 'original');
  assert.equal(readFileSync(join(root, 'b'), 'utf8'), 'new');
  await assert.rejects(ex.apply(...file('full', 'x')), /cannot replace the non-empty directory full/);
  await assert.rejects(ex.apply(...file('b/c', 'x')), /is not a directory/);
  assert.deepEqual(ex.finish().paths, ['b']);
});

test('the parent cache follows a symlink that an entry replaced', async (t) => {
  const root = tempDir(t);
  const archive = pyTar([
    { name: 't1', type: 'dir' },
    { name: 't2', type: 'dir' },
    { name: 'l', type: 'symlink', linkname: 't1' },
    { name: 'l/x', data: 'x' },
    { name: 'l', type: 'symlink', linkname: 't2' },
    { name: 'l/y', data: 'y' },
  ]);
  await extractTar(archive, root, { chown: true });
  assert.deepEqual(readdirSync(join(root, 't1')), ['x']);
  assert.deepEqual(readdirSync(join(root, 't2')), ['y']);
});

test('directories that came implicitly get their metadata when their entry comes later', async (t) => {
  const root = tempDir(t);
  const archive = pyTar([
    { name: 'a/b/f', data: 'f' },
    { name: 'a', type: 'dir', mode: 0o700, uid: 42, gid: 43 },
  ]);
  await extractTar(archive, root, { chown: true });
  const st = lstatSync(join(root, 'a'));
  assert.deepEqual([st.mode & 0o7777, st.uid, st.gid, st.mtimeMs], [0o700, 42, 43, 1700000000_000]);
  assert.equal(lstatSync(join(root, 'a/b')).mode & 0o7777, 0o755);
});

test('a directory several packages carry gets the newest of their times, whatever order they come in', async (t) => {
  const dir = (mtime: number): TarEntry => ({ path: 'usr/share/locale', type: 'dir', mode: 0o755, uid: 0, gid: 0, uname: '', gname: '', mtime, size: 0, xattrs: new Map() });
  for (const order of [[1_600_000_000, 1_700_000_000], [1_700_000_000, 1_600_000_000]]) {
    const root = tempDir(t);
    const ex = createExtractor(root, { chown: false });
    for (const mtime of order) await ex.apply(dir(mtime as number));
    ex.finish();
    assert.equal(lstatSync(join(root, 'usr/share/locale')).mtimeMs, 1_700_000_000_000);
  }
});

test('a real package extracts like dpkg-deb -x, into a merged-/usr root too', async (t) => {
  const [deb] = realDebs(['coreutils']);
  if (!deb) return t.skip('no coreutils .deb available');
  const dir = tempDir(t);
  const parts = readDeb(readFileSync(deb));
  const ours = join(dir, 'ours');
  const theirs = join(dir, 'theirs');
  mkdirSync(ours);
  mkdirSync(theirs);
  const result = await extractTar(decompress(parts.data.data, parts.data.kind), ours, { chown: true });
  run('dpkg-deb', ['-x', deb, theirs]);
  assert.deepEqual(listTree(ours), listTree(theirs));
  assert.equal(result.paths.length, listTree(theirs).length);
  for (const p of listTree(theirs)) {
    const a = lstatSync(join(ours, p));
    const b = lstatSync(join(theirs, p));
    assert.deepEqual([a.mode, a.uid, a.gid, a.size], [b.mode, b.uid, b.gid, b.size], p);
    if (!a.isDirectory()) assert.equal(a.mtimeMs, b.mtimeMs, p); // dpkg-deb -x leaves directory times at "now"
  }
  const merged = join(dir, 'merged');
  mkdirSync(join(merged, 'usr/bin'), { recursive: true });
  mkdirSync(join(merged, 'usr/sbin'), { recursive: true });
  symlinkSync('usr/bin', join(merged, 'bin'));
  symlinkSync('usr/sbin', join(merged, 'sbin'));
  await extractTar(decompress(parts.data.data, parts.data.kind), merged, { chown: true });
  assert.ok(lstatSync(join(merged, 'bin')).isSymbolicLink());
  assert.ok(lstatSync(join(merged, 'usr/bin/cat')).isFile());
});
