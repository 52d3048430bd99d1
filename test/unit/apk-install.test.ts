/**
 * What the apk unpack writes, on a package assembled in the test: files,
 * modes (setuid kept), symlinks and hard links confined to the root, and
 * the database entries exactly as apk 2.x writes them (field order, M: and
 * a: only where not root:root 0755/0644, Z: checksums of content, of a
 * symlink's target, of a hard link's file), scripts.tar entry names,
 * triggers, world; and "replaces" deciding who may overwrite a file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createExtractor, readTar } from '../../src/archive/index.ts';
import { parseApkIndexText } from '../../src/formats/apk/apkindex.ts';
import { installedEntry, scriptsTar, triggersFile, writeApkState } from '../../src/formats/apk/installed-db.ts';
import { keysFromPlan } from '../../src/formats/apk/trust.ts';
import { triggerDirectories } from '../../src/formats/apk/scripts.ts';
import { unpackApk, xattrChecksum, type FileOwners } from '../../src/formats/apk/unpack.ts';
import type { PlannedPackage } from '../../src/formats/types.ts';
import type { ApkPackageExtra } from '../../src/formats/apk/plan.ts';
import { Tree } from '../../src/tree/index.ts';
import { UserError } from '../../src/util/errors.ts';
import { makeKey, makePackage, type BuiltPackage } from './apk-builder.ts';

const key = makeKey();
const keys = keysFromPlan([{ name: key.name, pem: key.pem }]);
const isRoot = process.getuid?.() === 0;
const q1 = (s: string) => `Q1${createHash('sha1').update(s).digest('base64')}`;

function plannedOf(built: BuiltPackage): PlannedPackage<ApkPackageExtra> {
  const record = parseApkIndexText(built.record, 'main')[0] as ApkPackageExtra['record'];
  return { name: record.name, version: record.version, architecture: record.arch, size: record.size, sha256: '', urls: [`http://127.0.0.1/${record.name}-${record.version}.apk`], reason: 'requested', extra: { repo: 'main', checksum: built.checksum, record } };
}

function tempRoot(t: { after(fn: () => void): void }): string {
  const root = mkdtempSync(join(tmpdir(), 'kiln-apk-install-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

const tool = makePackage(
  {
    name: 'tool',
    version: '2.0-r1',
    depends: 'so:libc.musl-x86_64.so.1',
    provides: 'cmd:tool=2.0-r1',
    pkginfo: ['triggers = /usr/share/tool-hooks/*', 'replaces = oldtool'],
    scripts: { 'post-install': '#!/bin/sh\necho post\n', 'pre-install': '#!/bin/sh\necho pre\n', trigger: '#!/bin/sh\necho "$@"\n' },
    files: [
      { path: 'usr', type: 'dir' },
      { path: 'usr/bin', type: 'dir' },
      { path: 'usr/bin/tool', mode: 0o4755, content: 'TOOL' },
      { path: 'usr/bin/tool-again', type: 'hardlink', mode: 0o4755, linkpath: 'usr/bin/tool' },
      { path: 'usr/bin/t', type: 'symlink', mode: 0o777, linkpath: 'tool' },
      { path: 'usr/share', type: 'dir' },
      { path: 'usr/share/tool-hooks', type: 'dir' },
      { path: 'usr/share/tool-hooks/a', type: 'dir' },
      { path: 'var', type: 'dir' },
      { path: 'var/empty', type: 'dir', mode: 0o555 },
      { path: 'etc', type: 'dir' },
      { path: 'etc/tool.conf', mode: 0o640, gid: 42, content: 'x=1\n' },
    ],
  },
  key,
);

test('unpack writes the files and the installed entry as apk writes it', { skip: !isRoot && 'chowns what it extracts: run as root' }, async (t) => {
  const root = tempRoot(t);
  const extractor = createExtractor(root, { chown: true, xattrs: true });
  const owners: FileOwners = new Map();
  const planned = plannedOf(tool);
  const u = await unpackApk(tool.file, planned, extractor, { keys, owners });
  extractor.finish();
  assert.equal(readFileSync(join(root, 'usr/bin/tool'), 'utf8'), 'TOOL');
  assert.equal(lstatSync(join(root, 'usr/bin/tool')).mode & 0o7777, 0o4755);
  assert.equal(lstatSync(join(root, 'usr/bin/tool-again')).ino, lstatSync(join(root, 'usr/bin/tool')).ino);
  assert.equal(readlinkSync(join(root, 'usr/bin/t')), 'tool');
  assert.equal(lstatSync(join(root, 'var/empty')).mode & 0o7777, 0o555);

  const entry = installedEntry(planned.extra.record, u, (path) => owners.get(path)?.name === 'tool');
  const expected = [
    `C:${tool.checksum}`, 'P:tool', 'V:2.0-r1', 'A:x86_64', `S:${tool.file.length}`, 'I:1024', 'T:test package tool', 'U:https://example.invalid/', 'L:MIT', 'o:tool',
    'D:so:libc.musl-x86_64.so.1', 'p:cmd:tool=2.0-r1', 'r:oldtool',
    'F:usr',
    'F:usr/bin',
    'R:tool', 'a:0:0:4755', `Z:${q1('TOOL')}`,
    'R:tool-again', 'a:0:0:4755', `Z:${q1('TOOL')}`,
    'R:t', 'a:0:0:777', `Z:${q1('tool')}`,
    'F:usr/share',
    'F:usr/share/tool-hooks',
    'F:usr/share/tool-hooks/a',
    'F:var',
    'F:var/empty', 'M:0:0:555',
    'F:etc',
    'R:tool.conf', 'a:0:42:640', `Z:${q1('x=1\n')}`,
    '', '',
  ].join('\n');
  assert.equal(entry, expected);
  // From a tagged repository: s:TAG after r: and q:, as apk 2.x writes it.
  assert.equal(installedEntry(planned.extra.record, u, (path) => owners.get(path)?.name === 'tool', 'edge'), expected.replace('r:oldtool\n', 'r:oldtool\ns:edge\n'));
  assert.equal(triggersFile([u]), `${tool.checksum} /usr/share/tool-hooks/*\n`);
  assert.deepEqual(triggerDirectories(['/usr/share/tool-hooks/*'], [u]), ['/usr/share/tool-hooks/a']);

  const names: string[] = [];
  for await (const { entry: e } of readTar(scriptsTar([u], 1700000000))) names.push(`${e.path} ${e.mode.toString(8)} ${e.mtime}`);
  assert.deepEqual(names, [`tool-2.0-r1.${tool.checksum}.pre-install 755 1700000000`, `tool-2.0-r1.${tool.checksum}.post-install 755 1700000000`, `tool-2.0-r1.${tool.checksum}.trigger 755 1700000000`]);

  writeApkState(new Tree(root), { world: ['tool', 'alpine-base', 'tool'], repositories: ['http://127.0.0.1/alpine/v3.21/main'], architecture: 'x86_64', keys: [{ name: key.name, pem: key.pem }] });
  assert.equal(readFileSync(join(root, 'etc/apk/world'), 'utf8'), 'alpine-base\ntool\n');
  assert.equal(readFileSync(join(root, 'etc/apk/repositories'), 'utf8'), 'http://127.0.0.1/alpine/v3.21/main\n');
  assert.equal(readFileSync(join(root, 'etc/apk/arch'), 'utf8'), 'x86_64\n');
  assert.equal(readFileSync(join(root, `etc/apk/keys/${key.name}`), 'utf8'), key.pem);
  assert.equal(lstatSync(join(root, 'lib/apk/db/lock')).mode & 0o777, 0o600);
});

test('a file another package installed is overwritten only by a package that replaces it', { skip: !isRoot && 'chowns what it extracts: run as root' }, async (t) => {
  const root = tempRoot(t);
  const extractor = createExtractor(root, { chown: true });
  const owners: FileOwners = new Map();
  const first = makePackage({ name: 'oldtool', version: '1-r0', files: [{ path: 'usr', type: 'dir' }, { path: 'usr/bin', type: 'dir' }, { path: 'usr/bin/tool', content: 'OLD' }] }, key);
  const rival = makePackage({ name: 'rival', version: '1-r0', files: [{ path: 'usr', type: 'dir' }, { path: 'usr/bin', type: 'dir' }, { path: 'usr/bin/tool', content: 'RIVAL' }] }, key);
  await unpackApk(first.file, plannedOf(first), extractor, { keys, owners });
  await assert.rejects(unpackApk(rival.file, plannedOf(rival), extractor, { keys, owners }), (e: unknown) => e instanceof UserError && e.message === 'rival 1-r0 would overwrite /usr/bin/tool, which oldtool installed');
  await unpackApk(tool.file, plannedOf(tool), extractor, { keys, owners });
  assert.equal(readFileSync(join(root, 'usr/bin/tool'), 'utf8'), 'TOOL');
  assert.equal(owners.get('usr/bin/tool')?.name, 'tool');
});

test('the APK-TOOLS.checksum.SHA1 pax records: a match gives Z:, content that differs refuses the package naming it and the path', { skip: !isRoot && 'chowns what it extracts: run as root' }, async (t) => {
  const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
  const files = (content: string) => [
    { path: 'etc', type: 'dir' as const },
    { path: 'etc/motd', content, pax: { 'APK-TOOLS.checksum.SHA1': sha1('welcome\n') } },
    { path: 'etc/issue', type: 'symlink' as const, mode: 0o777, linkpath: 'motd', pax: { 'APK-TOOLS.checksum.SHA1': sha1('motd') } },
  ];
  const good = makePackage({ name: 'motd', version: '1-r0', files: files('welcome\n') }, key);
  const root = tempRoot(t);
  const extractor = createExtractor(root, { chown: true });
  const u = await unpackApk(good.file, plannedOf(good), extractor, { keys, owners: new Map() });
  assert.deepEqual(u.dirs.find((d) => d.path === 'etc')?.files.map((f) => [f.name, f.checksum]), [['motd', q1('welcome\n')], ['issue', q1('motd')]]);
  // The content changed and the data hash made again: only the pax record can tell.
  const tampered = makePackage({ name: 'motd', version: '1-r0', files: files('welcome, intruder\n') }, key);
  await assert.rejects(unpackApk(tampered.file, plannedOf(tampered), extractor, { keys, owners: new Map() }), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.equal(e.exitCode, 2);
    assert.equal(e.message, `http://127.0.0.1/motd-1-r0.apk: /etc/motd does not match its APK-TOOLS.checksum.SHA1 (sha1 ${sha1('welcome, intruder\n')}, the package says ${sha1('welcome\n')})`);
    return true;
  });
  const badLink = makePackage({ name: 'motd', version: '1-r0', files: [{ path: 'etc', type: 'dir' }, { path: 'etc/issue', type: 'symlink', mode: 0o777, linkpath: '/etc/shadow', pax: { 'APK-TOOLS.checksum.SHA1': sha1('motd') } }] }, key);
  await assert.rejects(unpackApk(badLink.file, plannedOf(badLink), createExtractor(tempRoot(t), { chown: true }), { keys, owners: new Map() }), /\/etc\/issue does not match its APK-TOOLS\.checksum\.SHA1/);
});

test('the xattr checksum: names sorted, each name and value with its 4-byte length, SHA1', () => {
  const x = new Map([['user.b', Buffer.from('2')], ['security.capability', Buffer.from([1, 0, 0, 2])]]);
  const h = createHash('sha1');
  for (const [n, v] of [['security.capability', Buffer.from([1, 0, 0, 2])], ['user.b', Buffer.from('2')]] as const) {
    const len = (k: number) => Buffer.from([0, 0, 0, k]);
    h.update(len(Buffer.byteLength(n))).update(n).update(len(v.length)).update(v);
  }
  assert.equal(xattrChecksum(x), `Q1${h.digest('base64')}`);
  assert.equal(xattrChecksum(new Map()), undefined);
});
