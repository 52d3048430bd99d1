import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativePerlFor, treePerlVersion } from '../../src/pipeline/native-perl.ts';
import { prepareBinds } from '../../src/pipeline/binds.ts';
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';

function treeWithPerl(version: string): string {
  const root = mkdtempSync(join(tmpdir(), 'kiln-perl-tree-'));
  mkdirSync(join(root, 'usr/lib/aarch64-linux-gnu/perl-base'), { recursive: true });
  writeFileSync(join(root, 'usr/lib/aarch64-linux-gnu/perl-base/Config.pm'), `package Config;\nour %Config = (\n    archname => 'aarch64-linux-gnu-thread-multi',\n    version => '${version}',\n);\n`);
  return root;
}

const hostPerl = (() => {
  try {
    return execFileSync('perl', ['-MConfig', '-e', 'print $Config{version}'], { encoding: 'utf8' });
  } catch {
    return undefined;
  }
})();

test('the Perl version of a tree comes from its Config.pm', () => {
  assert.equal(treePerlVersion(treeWithPerl('5.36.0')), '5.36.0');
  assert.equal(treePerlVersion(mkdtempSync(join(tmpdir(), 'kiln-noperl-'))), undefined);
});

test('the host perl stands in only for the same Perl version, and only under /run', { skip: skipOrFail(hostPerl ? undefined : (missingTools(['perl']) ?? 'the host perl does not tell its version')) }, async () => {
  const cache = mkdtempSync(join(tmpdir(), 'kiln-perl-cache-'));
  const same = await nativePerlFor(treeWithPerl(hostPerl as string), cache);
  assert.ok(same, 'same version: native perl');
  const hex = (text: string) => [...Buffer.from(text)].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
  assert.ok(same.entries.every((e) => e.interpreter === '/run/kiln-native/perl'));
  assert.deepEqual(same.entries.map((e) => e.magic), [hex('#!/usr/bin/perl'), hex('#! /usr/bin/perl')]);
  assert.ok(same.runBinds.every((b) => b.target.startsWith('kiln-native/')), 'everything is bound under the private /run');
  assert.ok(same.runBinds.some((b) => b.target === 'kiln-native/ld.so'));
  assert.equal(await nativePerlFor(treeWithPerl('5.1.0'), cache), undefined, 'other version: emulated');
});

test('mount points are created inside the root even through an absolute symlink, and removed after', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'kiln-binds-'));
  const root = join(parent, 'root');
  mkdirSync(join(root, 'usr/lib'), { recursive: true });
  symlinkSync('/usr/lib', join(root, 'lib'));
  const before = readdirSync(parent);
  const libc = readdirSync('/lib').includes('x86_64-linux-gnu') ? '/lib/x86_64-linux-gnu/libc.so.6' : '/etc/hostname';
  const prepared = await prepareBinds(root, ['/usr/bin/env', libc]);
  assert.equal(prepared.binds[0]?.target, join(root, 'usr/bin/env'));
  assert.ok(prepared.binds[1]?.target.startsWith(root + '/'), `${prepared.binds[1]?.target} is inside the root`);
  if (libc.startsWith('/lib/')) assert.equal(prepared.binds[1]?.target, join(root, 'usr/lib/x86_64-linux-gnu/libc.so.6'), 'the absolute link is followed inside the root');
  await prepared.cleanup();
  assert.deepEqual(readdirSync(parent), before, 'nothing outside the root');
  assert.equal(existsSync(join(root, 'usr/bin')), false, 'created mount points are removed');
  assert.equal(existsSync(join(root, 'usr/lib/x86_64-linux-gnu')), false);
});
