/**
 * kiln diff's input readers on small generated trees: a directory, the same
 * tree as a tar (plain, gzip, xz, zstd), a cpio and an OCI layout list the same
 * entries; every aspect of a change is found; the package database of a
 * streamed input is read (Debian's .list files, pacman's local files) so
 * that changes are grouped by package, unowned paths apart.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { compareListings, diffImages, listInput, readerFor } from '../../src/diff/index.ts';
import { UserError } from '../../src/util/errors.ts';
import { have, run, tempDir } from '../fixtures/archive-helpers.ts';

function put(root: string, path: string, text: string, mode = 0o644): void {
  const abs = join(root, path);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, text);
  chmodSync(abs, mode);
}

const STANZA = (name: string, version: string) => `Package: ${name}\nStatus: install ok installed\nVersion: ${version}\nArchitecture: amd64\n\n`;

/** A Debian-like tree: two packages (base-files, hello) and a file no package owns. */
function debianTree(root: string, opts: { nano?: boolean; hello?: string; stamp?: string } = {}): void {
  let status = STANZA('base-files', '12.4') + STANZA('hello', opts.hello ?? '2.10-3');
  put(root, 'etc/os-release', 'NAME=Debian\nVERSION=12\n');
  put(root, 'usr/bin/hello', opts.hello ? `\x7fELF hello ${opts.hello}\0` : '\x7fELF hello 2.10\0', 0o755);
  put(root, 'usr/share/doc/hello/README', 'hello\nworld\n');
  symlinkSync('hello', join(root, 'usr/bin/hi'));
  put(root, 'var/lib/dpkg/info/base-files.list', '/.\n/etc\n/etc/os-release\n');
  put(root, 'var/lib/dpkg/info/hello.list', '/.\n/usr\n/usr/bin\n/usr/bin/hello\n/usr/bin/hi\n/usr/share/doc/hello/README\n');
  if (opts.nano) {
    status += STANZA('nano', '7.2-1');
    put(root, 'usr/bin/nano', '\x7fELF nano\0', 0o755);
    linkSync(join(root, 'usr/bin/nano'), join(root, 'usr/bin/rnano'));
    put(root, 'var/lib/dpkg/info/nano:amd64.list', '/.\n/usr/bin\n/usr/bin/nano\n/usr/bin/rnano\n');
  }
  put(root, 'etc/build-stamp', opts.stamp ?? 'built on day 1\n');
  put(root, 'var/lib/dpkg/status', status);
  clamp(root);
}

/** Every path's time set to one instant (as a finished image has them). */
function clamp(root: string): void {
  run('find', [root, '-exec', 'touch', '-h', '-d', '@1700000000', '{}', '+']);
}

function tarOf(t: TestContext, dir: string, flag: string, ext: string): string {
  const file = join(tempDir(t, 'diff-tar'), `image.tar${ext}`);
  run('tar', ['--numeric-owner', '-C', dir, ...(flag ? [flag] : []), '-cf', file, '.']);
  return file;
}

/** A newc cpio of `dir` by GNU cpio (gzip-compressed when `ext` is .gz). */
function cpioOf(t: TestContext, dir: string, ext: '' | '.gz'): string {
  const file = join(tempDir(t, 'diff-cpio'), `image.cpio${ext}`);
  run('sh', ['-c', `cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet ${ext ? '| gzip -n' : ''} > "$2"`, 'sh', dir, file]);
  return file;
}

/** A one-image, one-layer OCI layout of `dir` (the layer a gzip tar). */
function ociOf(t: TestContext, dir: string): string {
  const layout = join(tempDir(t, 'diff-oci'), 'image.oci');
  const blobs = join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const blob = (data: Buffer) => {
    const digest = createHash('sha256').update(data).digest('hex');
    writeFileSync(join(blobs, digest), data);
    return { digest: `sha256:${digest}`, size: data.length };
  };
  const layer = blob(readFileSync(tarOf(t, dir, '-z', '.gz')));
  const config = blob(Buffer.from('{}'));
  const manifest = blob(Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }] })));
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest }] }));
  return layout;
}

test('a tar of every compression, a cpio (plain and gzip) and an OCI layout list exactly what the directory lists', async (t) => {
  const dir = tempDir(t, 'diff-dir');
  debianTree(dir, { nano: true });
  const expected = await listInput(dir);
  const inputs = [tarOf(t, dir, '', ''), tarOf(t, dir, '-z', '.gz'), ociOf(t, dir)];
  if (have('cpio')) inputs.push(cpioOf(t, dir, ''), cpioOf(t, dir, '.gz'));
  if (have('xz')) inputs.push(tarOf(t, dir, '-J', '.xz'));
  if (have('zstd')) inputs.push(tarOf(t, dir, '--zstd', '.zst'));
  for (const input of inputs) {
    const listed = await listInput(input);
    try {
      assert.deepEqual(compareListings(expected.listing, listed.listing), [], input);
      assert.equal(listed.listing.size, expected.listing.size);
      const rnano = listed.listing.get('usr/bin/rnano');
      assert.equal(rnano?.type, 'file', 'a hard link is listed as the file it names');
      assert.equal(rnano?.sha256, createHash('sha256').update('\x7fELF nano\0').digest('hex'));
      assert.equal(listed.listing.get('usr/bin/hi')?.target, 'hello');
    } finally {
      await listed.dispose();
    }
  }
  await expected.dispose();
});

test('each aspect of a change is named: content, mode, owner, time, type, link target', async (t) => {
  const a = tempDir(t, 'diff-a');
  const b = tempDir(t, 'diff-b');
  for (const root of [a, b]) {
    put(root, 'f-content', 'one\n');
    put(root, 'f-mode', 'x');
    put(root, 'f-owner', 'x');
    put(root, 'f-time', 'x');
    put(root, 'f-type', 'x');
    symlinkSync('one', join(root, 'l-target'));
  }
  writeFileSync(join(b, 'f-content'), 'two\n');
  chmodSync(join(b, 'f-mode'), 0o600);
  run('chown', ['-h', '1234:1234', join(b, 'f-owner')]);
  run('rm', [join(b, 'f-type'), join(b, 'l-target')]);
  mkdirSync(join(b, 'f-type'));
  symlinkSync('two', join(b, 'l-target'));
  clamp(a);
  clamp(b);
  utimesSync(join(b, 'f-time'), 1700000100, 1700000100);
  const la = await listInput(a);
  const lb = await listInput(tarOf(t, b, '', ''));
  const changes = compareListings(la.listing, lb.listing);
  await lb.dispose();
  const by = new Map(changes.map((c) => [c.path, c.aspects]));
  assert.deepEqual(by.get('f-content'), ['content']);
  assert.deepEqual(by.get('f-mode'), ['mode']);
  assert.deepEqual(by.get('f-owner'), ['owner']);
  assert.deepEqual(by.get('f-time'), ['time']);
  assert.deepEqual(by.get('f-type')?.[0], 'type');
  assert.deepEqual(by.get('l-target'), ['target']);
  assert.equal(changes.length, 6, JSON.stringify(changes.map((c) => c.path)));
});

test('a Debian tar against a directory: changes grouped by the owning package, the added package and unowned paths apart', async (t) => {
  const a = tempDir(t, 'diff-a');
  const b = tempDir(t, 'diff-b');
  debianTree(a);
  debianTree(b, { nano: true, hello: '2.10-4', stamp: 'built on day 2\n' });
  const report = await diffImages(tarOf(t, a, '-z', '.gz'), b);
  assert.equal(report.identical, false);
  const groups = new Map(report.groups.map((g) => [g.name, g]));
  const nano = groups.get('nano');
  assert.equal(nano?.status, 'added');
  assert.equal(nano?.versionB, '7.2-1');
  assert.deepEqual(nano?.changes.map((c) => `${c.kind} ${c.path}`), ['added usr/bin/nano', 'added usr/bin/rnano']);
  const hello = groups.get('hello');
  assert.equal(hello?.status, 'upgraded');
  assert.deepEqual(hello?.changes.map((c) => `${c.kind} ${c.path} ${c.aspects.join(',')}`), ['changed usr/bin/hello content']);
  const unowned = report.groups.at(-1);
  assert.equal(unowned?.name, null);
  assert.ok(unowned?.changes.some((c) => c.path === 'etc/build-stamp' && c.aspects.includes('content')));
  assert.ok(unowned?.changes.some((c) => c.path === 'var/lib/dpkg/status'));
  assert.match(report.textDiffs.get('etc/build-stamp') ?? '', /^-built on day 1\n\+built on day 2$/m);
  assert.equal(report.textDiffs.has('usr/bin/hello'), false, 'a binary gets sizes and digests, no text diff');
});

test('an Arch tree: owners come from pacman\'s local database', async (t) => {
  const a = tempDir(t, 'diff-a');
  const b = tempDir(t, 'diff-b');
  for (const [root, version] of [[a, '1.0-1'], [b, '1.1-1']] as const) {
    put(root, 'usr/bin/tool', `tool ${version}\n`);
    put(root, 'var/lib/pacman/local/ALPM_DB_VERSION', '9\n');
    put(root, `var/lib/pacman/local/tool-${version}/desc`, `%NAME%\ntool\n\n%VERSION%\n${version}\n\n%ARCH%\nx86_64\n\n`);
    put(root, `var/lib/pacman/local/tool-${version}/files`, '%FILES%\nusr/\nusr/bin/\nusr/bin/tool\n\n');
    clamp(root);
  }
  const report = await diffImages(a, tarOf(t, b, '--zstd', '.zst'));
  const tool = report.groups.find((g) => g.name === 'tool');
  assert.equal(tool?.status, 'upgraded');
  assert.equal(tool?.versionA, '1.0-1');
  assert.deepEqual(tool?.changes.map((c) => c.path), ['usr/bin/tool']);
  assert.match(report.textDiffs.get('usr/bin/tool') ?? '', /^\+tool 1\.1-1$/m);
});

test('identical inputs are identical; a missing input or one of no known type is a UserError', async (t) => {
  const dir = tempDir(t, 'diff-dir');
  debianTree(dir);
  const report = await diffImages(dir, tarOf(t, dir, '-z', '.gz'));
  assert.equal(report.identical, true);
  assert.deepEqual(report.groups, []);
  await assert.rejects(readerFor(join(dir, 'missing.tar')), (e: unknown) => e instanceof UserError && /no such file/.test(e.message));
  await assert.rejects(readerFor(join(dir, 'etc/os-release')), (e: unknown) => e instanceof UserError && /not an input kiln diff can read/.test(e.message));
});

test('a cpio against a directory: its changed text file gets a diff, read by a second pass', async (t) => {
  const a = tempDir(t, 'diff-a');
  const b = tempDir(t, 'diff-b');
  debianTree(a);
  debianTree(b, { stamp: 'built on day 2\n' });
  const report = await diffImages(cpioOf(t, a, '.gz'), b);
  assert.deepEqual(report.groups.map((g) => [g.name, g.changes.map((c) => `${c.path} ${c.aspects.join(',')}`)]), [[null, ['etc/build-stamp content']]]);
  assert.match(report.textDiffs.get('etc/build-stamp') ?? '', /^\+built on day 2$/m);
});
