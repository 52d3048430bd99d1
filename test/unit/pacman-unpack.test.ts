/**
 * unpackPacman and the local database with crafted packages: .PKGINFO must
 * say what the sync database (the plan) says, and the local database
 * directory is named from the plan.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createExtractor } from '../../src/archive/index.ts';
import { LOCAL_DB, writeLocalEntry } from '../../src/formats/pacman/localdb.ts';
import { unpackPacman } from '../../src/formats/pacman/unpack.ts';
import type { PacmanPackageExtra } from '../../src/formats/pacman/plan.ts';
import type { PlannedPackage } from '../../src/formats/types.ts';
import { UserError } from '../../src/util/errors.ts';
import { pyTar, run, tempDir, type PyMember } from '../fixtures/archive-helpers.ts';

const PLANNED: PlannedPackage<PacmanPackageExtra> = {
  name: 'hello',
  version: '1:2.12-1',
  architecture: 'x86_64',
  size: 0,
  sha256: '0'.repeat(64),
  urls: ['http://127.0.0.1:1/core/hello-1:2.12-1-x86_64.pkg.tar.zst'],
  reason: 'requested',
  extra: { repo: 'core', explicit: true },
};

function pkginfo(fields: Record<string, string>): string {
  return Object.entries({ pkgname: 'hello', pkgbase: 'hello', pkgver: '1:2.12-1', arch: 'x86_64', size: '3', ...fields })
    .map(([k, v]) => `${k} = ${v}\n`)
    .join('');
}

/** A .pkg.tar.zst as makepkg lays it out: the metadata first, then the tree. */
function craftPackage(members: PyMember[]): Buffer {
  return run('zstd', ['-q', '-c'], { input: pyTar([...members, { name: 'usr', type: 'dir', mode: 0o755 }, { name: 'usr/hello', data: 'hi\n' }]) });
}

function freshRoot(t: TestContext): string {
  const root = join(tempDir(t, 'pacman-root'), 'root');
  mkdirSync(join(root, LOCAL_DB), { recursive: true });
  return root;
}

test('a package whose .PKGINFO agrees with the sync database is unpacked; its local entry is named from the plan', async (t) => {
  const root = freshRoot(t);
  const unpacked = await unpackPacman(craftPackage([{ name: '.PKGINFO', data: pkginfo({}) }]), PLANNED, createExtractor(root, { chown: false }));
  assert.deepEqual(unpacked.files, ['usr/', 'usr/hello']);
  assert.equal(await writeLocalEntry(root, { planned: PLANNED, unpacked, explicit: true, installDate: 1, validated: true }), 'hello-1:2.12-1');
  assert.deepEqual(readdirSync(join(root, LOCAL_DB)), ['hello-1:2.12-1']);
});

test('a pkgname, pkgver or arch other than the sync database says is refused before any file is written', async (t) => {
  const cases: [Record<string, string>, string][] = [
    [{ pkgname: '../../../../tmp/x' }, 'pkgname is "hello" in the signed index, but the package says "../../../../tmp/x"'],
    [{ pkgver: '1:2.13-1' }, 'pkgver is "1:2.12-1" in the signed index, but the package says "1:2.13-1"'],
    [{ arch: 'aarch64' }, 'arch is "x86_64" in the signed index, but the package says "aarch64"'],
  ];
  for (const [fields, message] of cases) {
    const root = freshRoot(t);
    await assert.rejects(
      unpackPacman(craftPackage([{ name: '.PKGINFO', data: pkginfo(fields) }]), PLANNED, createExtractor(root, { chown: false })),
      (err: Error) => err instanceof UserError && err.message === `package hello 1:2.12-1: ${message}`,
    );
    assert.deepEqual(readdirSync(root), ['var'], 'nothing of the tree was written');
  }
});

test('a package whose tree comes before its .PKGINFO is refused; a plan name pacman would not accept never becomes a directory', async (t) => {
  const root = freshRoot(t);
  const late = run('zstd', ['-q', '-c'], { input: pyTar([{ name: 'usr', type: 'dir', mode: 0o755 }, { name: '.PKGINFO', data: pkginfo({}) }]) });
  await assert.rejects(unpackPacman(late, PLANNED, createExtractor(root, { chown: false })), /\.PKGINFO does not come first/);
  const unpacked = await unpackPacman(craftPackage([{ name: '.PKGINFO', data: pkginfo({}) }]), PLANNED, createExtractor(freshRoot(t), { chown: false }));
  for (const planned of [{ name: '../../x', version: '1-1' }, { name: '.hidden', version: '1-1' }, { name: '-x', version: '1-1' }, { name: 'x', version: '1/../../y' }]) {
    await assert.rejects(writeLocalEntry(root, { planned, unpacked, explicit: true, installDate: 1, validated: true }), /not a valid pacman package (name|version)/);
  }
  assert.deepEqual(readdirSync(join(root, LOCAL_DB)), []);
});
