/**
 * Native twins for pacman trees (src/formats/pacman/twins.ts) through the
 * format-neutral mechanism: twin selection from a host database's entries,
 * the in-tree table from pacman's local database (desc, .MTREE), the script
 * ledger from its install files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { mtreeDigests, pacmanTwins } from '../../src/formats/pacman/twins.ts';
import type { TwinCandidate } from '../../src/formats/twins.ts';
import { selectTwins } from '../../src/pipeline/native-twins.ts';
import { twinTable } from '../../src/pipeline/twin-dispatch.ts';
import { scriptLedger } from '../../src/pipeline/script-ledger.ts';
import { ELF, twinFixtureDirs } from './twin-fixture.ts';

const candidate = (name: string, version: string, architecture: string, depends: string[] = []): TwinCandidate => ({
  name, version, architecture, sha256: 'a'.repeat(64), size: 10, urls: [`http://mirror.invalid/${name}`], depends: depends.map((d) => [d.replace(/[<>=].*$/, '')]), library: architecture !== 'any',
});

test('selectTwins (pacman): busybox and coreutils at the tree’s versions with glibc and acl; an `any` dependency is no library; a wrong version stays emulated', () => {
  const tree = [
    { name: 'busybox', version: '1:1.35.0-4' },
    { name: 'coreutils', version: '9.5-1' },
    { name: 'sed', version: '4.9-1' },
    { name: 'glibc', version: '2.36-9' },
    { name: 'acl', version: '2.3.2-1' },
    { name: 'filesystem', version: '2025.05.20-1' },
  ];
  const index = {
    architecture: 'x86_64',
    candidates: [
      candidate('busybox', '1:1.35.0-4', 'x86_64'),
      candidate('coreutils', '9.5-1', 'x86_64', ['glibc', 'acl', 'libacl.so=1-64']),
      candidate('sed', '4.9-2', 'x86_64', ['glibc']),
      candidate('glibc', '2.36-9', 'x86_64', ['filesystem']),
      candidate('acl', '2.3.2-1', 'x86_64', ['glibc']),
      candidate('filesystem', '2025.05.21-1', 'any'),
      candidate('busybox', '1:1.35.0-4', 'aarch64'),
    ],
  };
  const { twins, skipped } = selectTwins(tree, index, pacmanTwins);
  assert.deepEqual(twins.map((t) => `${t.name} ${t.version} ${t.role}`).sort(), ['acl 2.3.2-1 library', 'busybox 1:1.35.0-4 programs', 'coreutils 9.5-1 programs', 'glibc 2.36-9 library']);
  assert.deepEqual(skipped, [{ name: 'sed', why: 'x86_64 has 4.9-2, the tree 4.9-1' }]);
});


/** A tree with pacman's local database for busybox and coreutils (desc, .MTREE) and a store with their x86_64 programs. */
function fixture(opts: { busyboxVersion?: string; busyboxReplaced?: boolean } = {}) {
  const { root, store, put } = twinFixtureDirs('kiln-twins-pacman-');
  const foreign = (f: string) => Buffer.concat([ELF, Buffer.from(`aarch64 ${f}`)]);
  const packages: Record<string, { version: string; files: string[]; install?: boolean }> = {
    busybox: { version: '1:1.35.0-4', files: ['usr/bin/busybox'] },
    coreutils: { version: '9.5-1', files: ['usr/bin/cat', 'usr/bin/uname', 'usr/bin/my file'], install: true },
  };
  for (const [name, p] of Object.entries(packages)) {
    const version = name === 'busybox' && opts.busyboxVersion ? opts.busyboxVersion : p.version;
    const entry = join(root, 'var/lib/pacman/local', `${name}-${version}`);
    put(join(entry, 'desc'), `%NAME%\n${name}\n\n%VERSION%\n${version}\n\n`, 0o644);
    const lines = p.files.map((f) => `./${f.replace(/ /g, '\\040')} time=1747699200.0 mode=755 size=68 sha256digest=${createHash('sha256').update(foreign(f)).digest('hex')}`);
    put(join(entry, 'mtree'), gzipSync(`#mtree\n/set type=file uid=0 gid=0 mode=644\n./.PKGINFO time=1747699200.0 size=1\n${lines.join('\n')}\n`), 0o644);
    if (p.install) put(join(entry, 'install'), 'post_install() { :; }\n', 0o644);
    for (const f of p.files) {
      put(join(root, f), name === 'busybox' && opts.busyboxReplaced ? Buffer.from('#!/bin/sh\n') : foreign(f));
      put(join(store, `${name}_${p.version.replace(':', '%3a')}_x86_64`, f), Buffer.concat([ELF, Buffer.from(`x86_64 ${f}`)]));
    }
  }
  const programs = Object.entries(packages).map(([name, p]) => ({ name, version: p.version, dir: `${name}_${p.version.replace(':', '%3a')}_x86_64` }));
  return { root, twins: { storeDir: store, programs } };
}

test('mtreeDigests: each file’s sha256 by path, mtree’s \\ooo escapes undone', () => {
  const digests = mtreeDigests(gzipSync('#mtree\n/set type=file\n./usr/bin/a\\040b sha256digest=ab12 size=3\n./usr/share/x type=dir\n'));
  assert.deepEqual(Object.fromEntries(digests), { 'usr/bin/a b': 'ab12' });
});

test('twinTable (pacman): busybox only with its pure applets, coreutils without uname, each file as its .MTREE has it', () => {
  const { root, twins } = fixture();
  const table = twinTable(root, twins, pacmanTwins);
  assert.deepEqual(table.programs.map((p) => p.path), ['/usr/bin/busybox', '/usr/bin/cat', '/usr/bin/my file']);
  const busybox = table.programs.find((p) => p.path === '/usr/bin/busybox');
  assert.ok(busybox?.firstArgs?.includes('sed') && busybox.firstArgs.includes('sha256sum'));
  for (const applet of ['uname', 'arch', 'sh', 'ash', 'find', 'xargs', 'env', 'awk']) assert.ok(!busybox?.firstArgs?.includes(applet), applet);
  assert.deepEqual(table.unused, []);
});

test('twinTable (pacman): a twin at another version than the local database’s is not used, nor a program that is no longer the one shipped', () => {
  const other = fixture({ busyboxVersion: '1:1.35.0-5' });
  const table = twinTable(other.root, other.twins, pacmanTwins);
  assert.ok(!table.programs.some((p) => p.path === '/usr/bin/busybox'));
  assert.deepEqual(table.unused, [{ name: 'busybox', why: 'the tree has 1:1.35.0-5, the twin is 1:1.35.0-4' }]);
  const replaced = fixture({ busyboxReplaced: true });
  assert.ok(!twinTable(replaced.root, replaced.twins, pacmanTwins).programs.some((p) => p.path === '/usr/bin/busybox'));
});

test('scriptLedger (pacman): a package whose local entry has an install file has scripts', () => {
  const { root } = fixture();
  const byPackage = new Map([['busybox', { native: 0, emulated: 1 }]]);
  const ledger = scriptLedger(root, [{ name: 'coreutils', version: '9.5-1' }, { name: 'busybox', version: '1:1.35.0-4' }], byPackage, pacmanTwins.tree);
  assert.deepEqual(ledger, { busybox: 'no scripts', coreutils: 'fully emulated' });
});
