/**
 * unpackDeb with crafted packages: the package must be what the signed index
 * (the plan) says, and nothing the package says becomes a path.
 */
import { Tree } from '../../src/tree/index.ts';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createExtractor } from '../../src/archive/index.ts';
import { unpackDeb } from '../../src/formats/deb/unpack.ts';
import type { DebPackageExtra } from '../../src/formats/deb/plan.ts';
import type { PlannedPackage } from '../../src/formats/types.ts';
import { UserError } from '../../src/util/errors.ts';
import { pyTar, run, tempDir, type PyMember } from '../fixtures/archive-helpers.ts';

const PLANNED: PlannedPackage<DebPackageExtra> = {
  name: 'hello',
  version: '2.10-3',
  architecture: 'amd64',
  size: 0,
  sha256: '0'.repeat(64),
  urls: [],
  reason: 'requested',
  extra: { multiArch: 'no', source: { name: 'hello', version: '2.10-3' } },
};

function control(fields: Record<string, string>): string {
  return Object.entries({ Package: 'hello', Version: '2.10-3', Architecture: 'amd64', Maintainer: 'Test <test@kiln.invalid>', Description: 'greets', ...fields })
    .map(([k, v]) => `${k}: ${v}\n`)
    .join('');
}

/** A .deb made byte by byte: ar (binutils) of debian-binary, control.tar and data.tar (python's tarfile, any member names). */
function craftDeb(t: TestContext, controlMembers: PyMember[]): Buffer {
  const dir = tempDir(t, 'deb-craft');
  writeFileSync(join(dir, 'debian-binary'), '2.0\n');
  writeFileSync(join(dir, 'control.tar'), pyTar([{ name: '.', type: 'dir', mode: 0o755 }, ...controlMembers]));
  writeFileSync(join(dir, 'data.tar'), pyTar([{ name: './usr', type: 'dir', mode: 0o755 }, { name: './usr/hello', data: 'hi\n' }]));
  run('ar', ['rc', 'p.deb', 'debian-binary', 'control.tar', 'data.tar'], { cwd: dir });
  return run('cat', [join(dir, 'p.deb')]);
}

function freshRoot(t: TestContext): string {
  const root = join(tempDir(t, 'deb-root'), 'root');
  mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
  return root;
}

async function unpack(t: TestContext, deb: Buffer, planned = PLANNED): Promise<{ root: string; result: Promise<unknown> }> {
  const root = freshRoot(t);
  return { root, result: unpackDeb(new Tree(root), deb, planned, createExtractor(root, { chown: false })) };
}

test('a package whose control says what the index says is unpacked, info files named from the plan', async (t) => {
  const deb = craftDeb(t, [{ name: './control', data: control({ 'Multi-Arch': 'same' }) }, { name: './postinst', data: '#!/bin/sh\n', mode: 0o755 }]);
  const { root, result } = await unpack(t, deb, { ...PLANNED, extra: { ...PLANNED.extra, multiArch: 'same' } });
  await result;
  assert.deepEqual(readdirSync(join(root, 'var/lib/dpkg/info')).sort(), ['hello:amd64.list', 'hello:amd64.postinst']);
});

test('Package: ../../../../tmp/x is refused before anything is written outside the info directory', async (t) => {
  const outside = tempDir(t, 'deb-outside');
  const deb = craftDeb(t, [{ name: './control', data: control({ Package: `../../../../../../../..${outside}/x` }) }, { name: './postinst', data: 'evil' }]);
  const { root, result } = await unpack(t, deb);
  await assert.rejects(result, (err: Error) => err instanceof UserError && /package hello 2\.10-3: Package is "hello" in the signed index, but the package says "\.\.\/.*\/x"/.test(err.message));
  assert.deepEqual(readdirSync(outside), []);
  assert.deepEqual(readdirSync(join(root, 'var/lib/dpkg/info')), []);
});

test('a Version or Architecture other than the index says is refused, naming the field and both values', async (t) => {
  const other = craftDeb(t, [{ name: './control', data: control({ Version: '2.10-4' }) }]);
  await assert.rejects((await unpack(t, other)).result, (err: Error) => err instanceof UserError && err.exitCode === 2 && err.message === 'package hello 2.10-3: Version is "2.10-3" in the signed index, but the package says "2.10-4"');
  const arch = craftDeb(t, [{ name: './control', data: control({ Architecture: 'arm64' }) }]);
  await assert.rejects((await unpack(t, arch)).result, /Architecture is "amd64" in the signed index, but the package says "arm64"/);
  const none = craftDeb(t, [{ name: './control', data: 'Package: hello\nVersion: 2.10-3\n' }]);
  await assert.rejects((await unpack(t, none)).result, /Architecture is "amd64" in the signed index, but the package has none/);
});

test('control members with a directory or .. in their names are refused; unknown plain ones are left out', async (t) => {
  for (const name of ['./../../../../tmp/kiln-evil', './sub/control', '../postinst', './a..b']) {
    const deb = craftDeb(t, [{ name: './control', data: control({}) }, { name, data: 'x' }]);
    const { root, result } = await unpack(t, deb);
    await assert.rejects(result, /is not a plain file name/, name);
    assert.deepEqual(readdirSync(join(root, 'var/lib/dpkg/info')), [], name);
  }
  assert.ok(!existsSync('/tmp/kiln-evil'));
  const deb = craftDeb(t, [{ name: './control', data: control({}) }, { name: './shlibs', data: '' }, { name: './whatever', data: 'x' }]);
  const { root, result } = await unpack(t, deb);
  const unpacked = (await result) as { skipped: string[] };
  assert.deepEqual(readdirSync(join(root, 'var/lib/dpkg/info')).sort(), ['hello.list', 'hello.shlibs']);
  assert.match(unpacked.skipped.join('\n'), /control member "whatever" is not one dpkg knows/);
});

test('a plan name that is not a Debian package name never becomes a file name', async (t) => {
  const deb = craftDeb(t, [{ name: './control', data: control({ Package: '../x' }) }]);
  await assert.rejects((await unpack(t, deb, { ...PLANNED, name: '../x' })).result, /not a valid Debian package name: "\.\.\/x"/);
});
