/**
 * trust-first-download's reading of a keys package (keysInPackage): the real
 * alpine-keys layout (every key once in usr/share/apk/keys, symlinks per
 * architecture in usr/share/apk/keys/ARCH/, the build architecture's keys in
 * etc/apk/keys, as symlinks or as files), from the repository fixture's
 * alpine-keys (test/helpers/apk-fixture-specs.ts) and from small packages
 * made here: only the target architecture's keys are taken, links are
 * followed inside the package only, and a package with no key for the
 * architecture is one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keysInPackage } from '../../src/formats/apk/keys.ts';
import { readApkPackage } from '../../src/formats/apk/package.ts';
import { UserError } from '../../src/util/errors.ts';
import { APK_EPOCH, makeApkKey, signerOf } from '../helpers/apk-fixture.ts';
import { buildApk } from '../helpers/apk-fixture-package.ts';
import { alpineKeys, FOREIGN_ARCH } from '../helpers/apk-fixture-specs.ts';
import { makeKey, makePackage, type Member } from './apk-builder.ts';

const trusted = makeApkKey('kiln-test');
const foreign = makeApkKey('kiln-unknown');
const planned = (arch: string, version = '2.5-r0') => ({ name: 'alpine-keys', version, architecture: arch });

async function fixtureKeys(machine: 'x86_64' | 'aarch64', arch: string): Promise<string[]> {
  const { bytes } = buildApk(alpineKeys(machine, trusted.info, foreign.info), signerOf(trusted.info, trusted.secretPem), APK_EPOCH);
  const file = await readApkPackage(bytes, planned(machine), 'alpine-keys-2.5-r0.apk', {});
  return (await keysInPackage(file, arch, 'alpine-keys-2.5-r0.apk')).map((k) => `${k.name} ${k.pem === trusted.info.pem ? 'trusted' : k.pem === foreign.info.pem ? 'foreign' : 'other'}`);
}

test("the fixture's alpine-keys (real layout, symlinks): the target architecture's keys, not another's", async () => {
  assert.deepEqual(await fixtureKeys('x86_64', 'x86_64'), [`${trusted.info.name} trusted`]);
  assert.deepEqual(await fixtureKeys('aarch64', 'aarch64'), [`${trusted.info.name} trusted`]);
  // The unknown key is listed for FOREIGN_ARCH only (its directory's symlink is the one way to it).
  const forForeign = await fixtureKeys('x86_64', FOREIGN_ARCH);
  assert.ok(forForeign.includes(`${foreign.info.name} foreign`), forForeign.join(', '));
});

const key = makeKey();
const share = 'usr/share/apk/keys';
const pem = (name: string) => `-----BEGIN PUBLIC KEY-----\n${name}\n-----END PUBLIC KEY-----\n`;
async function keysOf(files: Member[], arch = 'x86_64'): Promise<[string, string][]> {
  const pkg = makePackage({ name: 'alpine-keys', version: '2.3-r0', files }, key);
  const file = await readApkPackage(pkg.file, planned('x86_64', '2.3-r0'), 'alpine-keys-2.3-r0.apk', {});
  return (await keysInPackage(file, arch, 'alpine-keys-2.3-r0.apk')).map((k) => [k.name, k.pem]);
}
const d = (path: string): Member => ({ path, type: 'dir' });
const f = (path: string, content: string): Member => ({ path, content });
const l = (path: string, linkpath: string): Member => ({ path, type: 'symlink', linkpath });

test('older alpine-keys (etc/apk/keys as files), absolute links and hard links are read; each name once', async () => {
  const files = [
    d('etc'), d('etc/apk'), d('etc/apk/keys'), f('etc/apk/keys/a.rsa.pub', pem('a')),
    d('usr'), d('usr/share'), d('usr/share/apk'), d(share), f(`${share}/a.rsa.pub`, pem('a')), f(`${share}/b.rsa.pub`, pem('b')), f(`${share}/c.rsa.pub`, pem('c')),
    d(`${share}/x86_64`), l(`${share}/x86_64/a.rsa.pub`, '../a.rsa.pub'), l(`${share}/x86_64/b.rsa.pub`, `/${share}/b.rsa.pub`),
    d(`${share}/riscv64`), l(`${share}/riscv64/c.rsa.pub`, '../c.rsa.pub'),
  ];
  assert.deepEqual(await keysOf(files), [['a.rsa.pub', pem('a')], ['b.rsa.pub', pem('b')]]);
  assert.deepEqual(await keysOf(files, 'riscv64'), [['a.rsa.pub', pem('a')], ['c.rsa.pub', pem('c')]], "etc/apk/keys is the package's own architecture's");
  const hard = [d('usr'), d('usr/share'), d('usr/share/apk'), d(share), f(`${share}/a.rsa.pub`, pem('a')), d(`${share}/x86_64`), { path: `${share}/x86_64/a.rsa.pub`, type: 'hardlink', linkpath: `${share}/a.rsa.pub` } as Member];
  assert.deepEqual(await keysOf(hard), [['a.rsa.pub', pem('a')]]);
});

test('links that leave the package, dangle or loop name no key; no key for the architecture is one line', async () => {
  const files = [
    d('etc'), d('etc/apk'), d('etc/apk/keys'), l('etc/apk/keys/host.rsa.pub', '/etc/ssl/certs/host.pem'), l('etc/apk/keys/gone.rsa.pub', `../../../${share}/gone.rsa.pub`),
    d('usr'), d('usr/share'), d('usr/share/apk'), d(share), d(`${share}/x86_64`), l(`${share}/x86_64/loop.rsa.pub`, 'loop.rsa.pub'),
    f(`${share}/other.rsa.pub`, pem('other')), d(`${share}/aarch64`), l(`${share}/aarch64/other.rsa.pub`, '../other.rsa.pub'),
  ];
  await assert.rejects(keysOf(files), (e: unknown) => e instanceof UserError && /^alpine-keys-2\.3-r0\.apk holds no keys for x86_64 \(in usr\/share\/apk\/keys\/x86_64\/ or etc\/apk\/keys\/\)$/.test(e.message));
  assert.deepEqual(await keysOf(files, 'aarch64'), [['other.rsa.pub', pem('other')]]);
});
