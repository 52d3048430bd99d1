/**
 * Native twins for apk trees (src/formats/apk/twins.ts) through the
 * format-neutral mechanism: candidates from an APKINDEX's records (so: and
 * cmd: provides resolved to packages), twin selection, the in-tree table
 * from apk's installed database (Z: checksums), the script ledger from
 * scripts.tar (made here with tar(1)), and the dispatcher running a static
 * twin without the loader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseApkIndexText } from '../../src/formats/apk/apkindex.ts';
import { apkDependencyName, apkTwinCandidates, apkTwins, installedChecksums, tarMemberNames } from '../../src/formats/apk/twins.ts';
import { selectTwins } from '../../src/pipeline/native-twins.ts';
import { dispatcher, twinTable, type TwinTable } from '../../src/pipeline/twin-dispatch.ts';
import { scriptLedger } from '../../src/pipeline/script-ledger.ts';
import { Tree } from '../../src/tree/index.ts';
import { ELF, STATIC_ELF, twinFixtureDirs } from './twin-fixture.ts';

const q1 = (data: Buffer) => `Q1${createHash('sha1').update(data).digest('base64')}`;
const record = (fields: Record<string, string>) => Object.entries(fields).map(([k, v]) => `${k}:${v}`).join('\n') + '\n';
const SOURCE = { name: 'main', url: 'http://mirror.invalid/alpine/v3.21/main/x86_64', signed: true };

/** An x86_64 APKINDEX text: musl provides the libc soname, busybox needs it by that name, coreutils needs acl-libs by its soname. */
function hostIndex(versions: { busybox?: string; acl?: string } = {}) {
  const text = [
    record({ C: q1(Buffer.from('musl')), P: 'musl', V: '1.2.5-r8', A: 'x86_64', S: '400', I: '600', p: 'so:libc.musl-x86_64.so.1=1' }),
    record({ C: q1(Buffer.from('busybox')), P: 'busybox', V: versions.busybox ?? '1.37.0-r12', A: 'x86_64', S: '500', I: '900', D: 'so:libc.musl-x86_64.so.1 !busybox-extras', p: '/bin/sh cmd:busybox=1.37.0-r12 cmd:sh=1.37.0-r12' }),
    record({ C: q1(Buffer.from('coreutils')), P: 'coreutils', V: '9.5-r2', A: 'x86_64', S: '900', I: '2000', D: 'so:libacl.so.1 so:libc.musl-x86_64.so.1 coreutils-env=9.5-r2' }),
    record({ C: q1(Buffer.from('coreutils-env')), P: 'coreutils-env', V: '9.5-r2', A: 'x86_64', S: '10', I: '20', p: 'cmd:env=9.5-r2' }),
    record({ C: q1(Buffer.from('acl-libs')), P: 'acl-libs', V: versions.acl ?? '2.3.2-r1', A: 'x86_64', S: '100', I: '200', p: 'so:libacl.so.1=1.1.2302' }),
    record({ C: q1(Buffer.from('alpine-keys')), P: 'alpine-keys', V: '2.5-r0', A: 'noarch', S: '100', I: '200' }),
  ].join('\n');
  return { architecture: 'x86_64', candidates: apkTwinCandidates(parseApkIndexText(text, 'main'), SOURCE) };
}

const TREE = [
  { name: 'musl', version: '1.2.5-r8' },
  { name: 'busybox', version: '1.37.0-r12' },
  { name: 'coreutils', version: '9.5-r2' },
  { name: 'coreutils-env', version: '9.5-r2' },
  { name: 'acl-libs', version: '2.3.2-r1' },
  { name: 'alpine-baselayout', version: '3.6.8-r1' },
];

test('apkDependencyName: no conflict mark, version bound or repository tag', () => {
  assert.deepEqual(['so:libc.musl-x86_64.so.1', 'musl>=1.2', '!busybox-extras', 'cmd:sh=1.37.0-r12', 'hello@edge', 'foo~1.2'].map(apkDependencyName), ['so:libc.musl-x86_64.so.1', 'musl', 'busybox-extras', 'cmd:sh', 'hello', 'foo']);
});

test('apkTwinCandidates: so: and cmd: dependencies become the packages providing them, conflicts none; a so: provider is a library; the identity is C: in hex', () => {
  const { candidates } = hostIndex();
  const by = (name: string) => candidates.find((c) => c.name === name);
  assert.deepEqual(by('busybox')?.depends, [['musl']]);
  assert.deepEqual(by('coreutils')?.depends, [['acl-libs'], ['musl'], ['coreutils-env']]);
  assert.deepEqual(candidates.filter((c) => c.library).map((c) => c.name).sort(), ['acl-libs', 'musl']);
  assert.equal(by('musl')?.sha256, createHash('sha1').update('musl').digest('hex'));
  assert.deepEqual(by('busybox')?.urls, [`${SOURCE.url}/busybox-1.37.0-r12.apk`]);
  assert.equal(by('busybox')?.extra?.checksum, q1(Buffer.from('busybox')));
});

test('selectTwins (apk): busybox and coreutils at the tree’s versions with musl (the loader) and acl-libs by their sonames; coreutils-env is no library', () => {
  const { twins, skipped } = selectTwins(TREE, hostIndex(), apkTwins);
  assert.deepEqual(twins.map((t) => `${t.name} ${t.version} ${t.role}`).sort(), ['acl-libs 2.3.2-r1 library', 'busybox 1.37.0-r12 programs', 'coreutils 9.5-r2 programs', 'musl 1.2.5-r8 library']);
  assert.deepEqual(skipped, []);
});

test('selectTwins (apk): a twin at another version, or one whose library (by soname) is at another version, is never chosen', () => {
  const { twins, skipped } = selectTwins(TREE, hostIndex({ busybox: '1.37.0-r13', acl: '2.3.2-r2' }), apkTwins);
  assert.deepEqual(twins, []);
  assert.deepEqual(skipped, [
    { name: 'busybox', why: 'x86_64 has 1.37.0-r13, the tree 1.37.0-r12' },
    { name: 'coreutils', why: 'its library acl-libs 2.3.2-r1 has no x86_64 twin at the tree\'s version' },
  ]);
});

/** A tree with apk's database for busybox (static) and alpine-baselayout, scripts.tar made by tar(1), and a store with busybox's x86_64 twin. */
function fixture(opts: { installedVersion?: string; replaced?: boolean } = {}) {
  const { root, store, put } = twinFixtureDirs('kiln-twins-apk-');
  const foreign = Buffer.concat([STATIC_ELF, Buffer.from('aarch64 busybox')]);
  const version = opts.installedVersion ?? '1.37.0-r12';
  put(join(root, 'bin/busybox'), opts.replaced ? Buffer.concat([STATIC_ELF, Buffer.from('someone else’s')]) : foreign);
  put(join(root, 'usr/bin/kiln-tool'), ELF);
  put(
    join(root, 'lib/apk/db/installed'),
    [
      record({ C: 'Q1x', P: 'musl', V: '1.2.5-r8', A: 'aarch64', F: 'lib', R: 'ld-musl-aarch64.so.1', Z: q1(Buffer.from('musl')) }),
      `${record({ C: 'Q1y', P: 'busybox', V: version, A: 'aarch64' })}F:bin\nR:busybox\na:0:0:755\nZ:${q1(foreign)}\nF:etc\nR:securetty\nZ:${q1(Buffer.from('console\n'))}\n`,
      record({ C: 'Q1z', P: 'alpine-baselayout', V: '3.6.8-r1', A: 'aarch64' }),
      record({ C: 'Q1w', P: 'hello', V: '2.12.1-r0', A: 'aarch64' }),
    ].join('\n'),
    0o644,
  );
  const scripts = mkdtempSync(join(tmpdir(), 'kiln-apk-scripts-'));
  const long = `alpine-baselayout-3.6.8-r1.Q1${'L'.repeat(80)}=.pre-install`;
  const names = [`busybox-${version}.Q1abc=.post-install`, `busybox-${version}.Q1abc=.trigger`, long, 'hello-2.12.1-r0.Q1def=.pre-deinstall'];
  for (const name of names) writeFileSync(join(scripts, name), '#!/bin/sh\n');
  mkdirSync(join(root, 'lib/apk/db'), { recursive: true });
  const r = spawnSync('tar', ['--format=gnu', '-cf', join(root, 'lib/apk/db/scripts.tar'), '-C', scripts, ...names], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const dir = 'busybox_1.37.0-r12_x86_64';
  put(join(store, dir, 'bin/busybox'), Buffer.concat([STATIC_ELF, Buffer.from('x86_64 busybox')]));
  return { root, twins: { storeDir: store, programs: [{ name: 'busybox', version: '1.37.0-r12', dir }] } };
}

test('installedChecksums and tarMemberNames: a package’s Z: by path from its F:/R: lines; scripts.tar’s names, long ones too', () => {
  const { root } = fixture();
  const tree = new Tree(root);
  const records = (tree.readText('lib/apk/db/installed')).split(/\n\n+/).map((r) => r.split('\n').filter(Boolean));
  assert.deepEqual([...installedChecksums(records, 'busybox', '1.37.0-r12').keys()], ['bin/busybox', 'etc/securetty']);
  assert.deepEqual([...installedChecksums(records, 'busybox', '1.37.0-r13').keys()], []);
  const names = tarMemberNames(tree.readBytes('lib/apk/db/scripts.tar'));
  assert.ok(names.includes(`alpine-baselayout-3.6.8-r1.Q1${'L'.repeat(80)}=.pre-install`), names.join(' '));
  assert.equal(names.length, 4);
});

test('twinTable (apk): static busybox runs without the loader, by `busybox APPLET` or an applet’s name, never as sh; the tree’s database decides', () => {
  const { root, twins } = fixture();
  const table = twinTable(root, twins, apkTwins);
  assert.equal(table.programs.length, 1);
  const [busybox] = table.programs;
  assert.equal(busybox?.path, '/bin/busybox');
  assert.equal(busybox?.direct, true);
  assert.ok(busybox?.names.includes('mkdir') && busybox.names.includes('sed'));
  assert.ok(!busybox?.names.some((n) => ['sh', 'ash', 'uname', 'arch', 'nproc', 'getconf', 'find', 'xargs', 'env', 'awk'].includes(n)), busybox?.names.join(' '));
  assert.ok(busybox?.firstArgs?.includes('mkdir') && !busybox.firstArgs.includes('sh') && !busybox.firstArgs.includes('--install'));
  assert.deepEqual(twinTable(fixture({ installedVersion: '1.37.0-r11' }).root, twins, apkTwins).unused, [{ name: 'busybox', why: 'the tree has 1.37.0-r11, the twin is 1.37.0-r12' }]);
  // The tree's /bin/busybox is not the file its package shipped (its Z:): not twinned.
  const replaced = fixture({ replaced: true });
  assert.deepEqual(twinTable(replaced.root, replaced.twins, apkTwins).programs, []);
});

test('script ledger (apk): scripts.tar says who has install scripts; a deinstall script alone is none', () => {
  const { root } = fixture();
  const packages = [
    { name: 'busybox', version: '1.37.0-r12' },
    { name: 'alpine-baselayout', version: '3.6.8-r1' },
    { name: 'musl', version: '1.2.5-r8' },
    { name: 'hello', version: '2.12.1-r0' },
  ];
  const ledger = scriptLedger(root, packages, new Map([['busybox', { native: 2, emulated: 3 }]]), apkTwins.tree);
  assert.deepEqual(ledger, { 'alpine-baselayout': 'fully emulated', busybox: 'native helpers', hello: 'no scripts', musl: 'no scripts' });
});

test('the dispatcher (apk): a static twin runs as it is, with argv[0] the foreign program’s path; by an applet’s name without the first-argument rule; by its own name with it', { skip: existsSync('/bin/bash') && existsSync('/usr/bin/python3') ? false : 'needs bash (exec -a, as busybox sh has) and python3 (to show argv[0])' }, () => {
  const base = mkdtempSync(join(tmpdir(), 'kiln-dispatch-apk-'));
  const dir = join(base, 'tree');
  mkdirSync(join(base, 'log'));
  mkdirSync(join(base, 'twins/busybox/bin'), { recursive: true });
  mkdirSync(dir);
  writeFileSync(join(base, 'log/execs'), '');
  // The twin: python3, which shows the argv[0] it was started with.
  symlinkSync('/usr/bin/python3', join(base, 'twins/busybox/bin/busybox'));
  writeFileSync(join(base, 'qemu'), '#!/bin/sh\necho qemu "$@"\n', { mode: 0o755 });
  writeFileSync(join(dir, 'busybox'), STATIC_ELF, { mode: 0o755 });
  symlinkSync('busybox', join(dir, 'mkdir'));
  const table: TwinTable = { programs: [{ path: join(dir, 'busybox'), twin: 'busybox/bin/busybox', names: ['busybox', 'mkdir'], firstArgs: ['-c'], direct: true }], unused: [] };
  const script = join(base, 'dispatch');
  const made = dispatcher(table, { loader: 'musl/lib/ld-musl-x86_64.so.1', libraryPath: [] }, base, '/bin/bash', apkTwins.tree.scriptPackageVariable);
  writeFileSync(script, made.script, { mode: 0o755 });
  mkdirSync(join(base, 'names'));
  for (const [name, lines] of made.byName) writeFileSync(join(base, 'names', name), lines);
  const show = ['-c', 'import sys; print(sys.orig_argv[0], *sys.argv[1:])'];
  const run = (argv: string[]) => spawnSync('/bin/bash', [script, ...argv], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', KILN_SCRIPT_PACKAGE: 'busybox' } }).stdout.trim();
  assert.equal(run([join(dir, 'mkdir'), ...show, 'x']), `${dir}/mkdir x`);
  assert.equal(run([join(dir, 'busybox'), ...show, 'y']), `${dir}/busybox y`);
  assert.equal(run([join(dir, 'busybox'), 'sh', '-c', 'true']), `qemu ${dir}/busybox sh -c true`);
  assert.equal(readFileSync(join(base, 'log/execs'), 'utf8'), `n busybox ${dir}/busybox\nn busybox ${dir}/busybox\ne busybox ${dir}/busybox\n`);
  for (const lines of made.byName.values()) assert.doesNotMatch(lines, /kiln_twin_loader/);
});
