/**
 * kiln diff's grouping and reports: paths grouped by the package that owns
 * them (the second image's owner for what it has, the first's for what it
 * lost), a package whose version changed listed even with no changed path,
 * the text, JSON and HTML forms, the unified diff, and the verb's exit codes
 * (0 identical, 1 different, 2 for a user mistake).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compareListings, formatHtmlReport, formatTextReport, groupByPackage, reportJson, unifiedDiff, type DiffEntry, type DiffReport, type Listing, type PackageView } from '../../src/diff/index.ts';
import { tempDir } from '../fixtures/archive-helpers.ts';

const file = (path: string, sha256: string, extra: Partial<DiffEntry> = {}): DiffEntry => ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1700000000, size: 10, sha256, xattrs: '', ...extra });
const listing = (...entries: DiffEntry[]): Listing => new Map(entries.map((e) => [e.path, e]));
const pkg = (name: string, version: string) => ({ name, version, architecture: 'amd64', source: name, licenses: [] });

const viewA: PackageView = { packages: [pkg('libc6', '2.36-9'), pkg('old', '1')], owners: new Map([['lib/libc.so.6', ['libc6']], ['usr/bin/old', ['old']], ['usr/bin', ['libc6', 'coreutils']]]) };
const viewB: PackageView = { packages: [pkg('libc6', '2.36-9+deb12u1'), pkg('new', '2')], owners: new Map([['lib/libc.so.6', ['libc6']], ['usr/bin/new', ['new']], ['usr/bin', ['libc6', 'coreutils']]]) };

test('changes are grouped by owner: added and removed packages by the image that has them, unowned last', () => {
  const a = listing(file('lib/libc.so.6', 'aa'), file('usr/bin/old', 'bb'), file('etc/stamp', 'cc'), file('usr/bin', '', { type: 'dir', size: 0, sha256: undefined }));
  const b = listing(file('lib/libc.so.6', 'ab'), file('usr/bin/new', 'bb'), file('etc/stamp', 'cd'), file('usr/bin', '', { type: 'dir', size: 0, sha256: undefined, mtime: 1700000001 }));
  const groups = groupByPackage(compareListings(a, b), viewA, viewB);
  assert.deepEqual(
    groups.map((g) => [g.name, g.status, g.changes.map((c) => `${c.kind}:${c.path}`)]),
    [
      ['coreutils', 'same', ['changed:usr/bin']],
      ['libc6', 'upgraded', ['changed:lib/libc.so.6']],
      ['new', 'added', ['added:usr/bin/new']],
      ['old', 'removed', ['removed:usr/bin/old']],
      [null, 'unowned', ['changed:etc/stamp']],
    ],
  );
});

test('a package whose version changed is listed even when none of its paths did', () => {
  const a = listing(file('lib/libc.so.6', 'aa'));
  const groups = groupByPackage(compareListings(a, a), viewA, viewB);
  assert.deepEqual(groups.map((g) => [g.name, g.status, g.changes.length]), [['libc6', 'upgraded', 0], ['new', 'added', 0], ['old', 'removed', 0]]);
});

test('the text, JSON and HTML reports name each package, each path and the text diff', () => {
  const a = listing(file('etc/motd', 'aa', { size: 6 }), file('usr/bin/old', 'bb', { mode: 0o755 }));
  const b = listing(file('etc/motd', 'ab', { size: 6, mode: 0o600 }), file('usr/bin/new', 'bb'));
  const report: DiffReport = { a: 'A', b: 'B', identical: false, entries: { a: 2, b: 2 }, header: { removed: [], added: [] }, groups: groupByPackage(compareListings(a, b), viewA, viewB), textDiffs: new Map([['etc/motd', unifiedDiff('etc/motd', 'hello\n', 'howdy\n')]]) };
  const text = formatTextReport(report);
  assert.match(text, /^package new \(added, 2\): 1 paths$/m);
  assert.match(text, /^package old \(removed, was 1\): 1 paths$/m);
  assert.match(text, /^package libc6 \(2\.36-9 -> 2\.36-9\+deb12u1\): 0 paths$/m);
  assert.match(text, /^owned by no package: 1 paths$/m);
  assert.match(text, /^ {2}~ \/etc\/motd {2}content 6 B sha256 aa -> 6 B sha256 ab; mode 0644 -> 0600$/m);
  assert.match(text, /^ {4}-hello\n {4}\+howdy$/m);
  const json = reportJson(report) as { identical: boolean; packages: { name: string | null; changes: { path: string; diff: string | null; a: { mode: string } | null }[] }[] };
  assert.equal(json.identical, false);
  const unowned = json.packages.find((p) => p.name === null);
  assert.equal(unowned?.changes[0]?.path, 'etc/motd');
  assert.equal(unowned?.changes[0]?.a?.mode, '0644');
  assert.match(unowned?.changes[0]?.diff ?? '', /\+howdy/);
  const html = formatHtmlReport(report);
  assert.equal(html.match(/<details>/g)?.length, report.groups.length, 'one collapsed table per package');
  assert.match(html, /<summary>package new \(added, 2\): 1 paths<\/summary>/);
  assert.match(html, /<pre>--- a\/etc\/motd/);
});

test('unifiedDiff: hunks with three lines of context, as diff -u numbers them', () => {
  const a = 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n';
  const b = 'a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n';
  assert.equal(unifiedDiff('x', a, b), '--- a/x\n+++ b/x\n@@ -1,5 +1,5 @@\n a\n-b\n+B\n c\n d\n e\n@@ -9,3 +9,4 @@\n i\n j\n k\n+l\n');
  assert.equal(unifiedDiff('y', '', 'new\n'), '--- a/y\n+++ b/y\n@@ -0,0 +1,1 @@\n+new\n');
});

const repo = fileURLToPath(new URL('../..', import.meta.url));
const kiln = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'diff', ...args], { cwd: repo, encoding: 'utf8', timeout: 120_000 });

test('kiln diff exits 0 when identical, 1 when different (writing --html), 2 for a missing input or an unknown aspect', (t) => {
  const dir = tempDir(t, 'diff-cli');
  for (const side of ['a', 'b', 'c']) {
    mkdirSync(join(dir, side, 'etc'), { recursive: true });
    writeFileSync(join(dir, side, 'etc/motd'), side === 'c' ? 'other\n' : 'same\n');
    spawnSync('touch', ['-h', '-d', '@1700000000', join(dir, side), join(dir, side, 'etc'), join(dir, side, 'etc/motd')]);
  }
  const same = kiln(join(dir, 'a'), join(dir, 'b'));
  assert.equal(same.status, 0, same.stderr);
  assert.match(same.stdout, /^identical/);
  const html = join(dir, 'report.html');
  const differ = kiln(join(dir, 'a'), join(dir, 'c'), '--html', html);
  assert.equal(differ.status, 1, differ.stderr);
  assert.match(differ.stdout, /~ \/etc\/motd/);
  assert.match(readFileSync(html, 'utf8'), /<details>/);
  const json = kiln('--json', join(dir, 'a'), join(dir, 'c'));
  assert.equal(json.status, 1);
  assert.equal((JSON.parse(json.stdout) as { identical: boolean }).identical, false);
  const missing = kiln(join(dir, 'a'), join(dir, 'nope'));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^kiln: error: .*nope: no such file or directory\nhint: /m);
  assert.doesNotMatch(missing.stderr, /\n\s+at /, 'no stack trace');
  const aspect = kiln('--ignore', 'colour', join(dir, 'a'), join(dir, 'b'));
  assert.equal(aspect.status, 2);
  assert.match(aspect.stderr, /unknown aspect "colour"/);
});

test('a rootless directory\'s host owners map back to the image\'s: the invoking user is root, its subordinate ids the rest', async () => {
  const { inverse } = await import('../../src/diff/id-view.ts');
  const back = inverse([[0, 1001, 1], [1, 200000, 65535]]);
  assert.deepEqual([back(1001), back(200000), back(200999), back(265534), back(5)], [0, 1, 1000, 65535, 5]);
});

test('unifiedDiff of a long text with one stanza added (dpkg\'s status file): only the middle is compared, numbered as diff -u does', () => {
  const a = Array.from({ length: 20000 }, (_, i) => `line ${i}`);
  const b = [...a.slice(0, 10000), 'Package: less', 'Version: 590-2', ...a.slice(10000)];
  const out = unifiedDiff('var/lib/dpkg/status', a.join('\n') + '\n', b.join('\n') + '\n');
  assert.equal(out, '--- a/var/lib/dpkg/status\n+++ b/var/lib/dpkg/status\n@@ -9998,6 +9998,8 @@\n line 9997\n line 9998\n line 9999\n+Package: less\n+Version: 590-2\n line 10000\n line 10001\n line 10002\n');
});
