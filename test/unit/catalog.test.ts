import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAptSources, hostMirrorFor, readOsRelease, canonicalArchitecture, DISTRIBUTIONS, findDistribution } from '../../src/catalog/index.ts';

test('apt sources in both styles are read, disabled ones skipped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-apt-'));
  mkdirSync(join(dir, 'sources.list.d'));
  writeFileSync(join(dir, 'sources.list'), '# nothing\ndeb [arch=amd64] http://one.invalid/debian bookworm main contrib\ndeb-src http://src.invalid/debian bookworm main\n');
  writeFileSync(join(dir, 'sources.list.d', 'a.sources'), 'Types: deb\nURIs: http://two.invalid/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nEnabled: no\nURIs: http://off.invalid/\nSuites: x\nComponents: main\n');
  writeFileSync(join(dir, 'sources.list.d', 'b.list.disabled'), 'deb http://never.invalid/ x main\n');
  const sources = readAptSources(dir);
  assert.deepEqual(sources.map((s) => s.uri), ['http://one.invalid/debian', 'http://two.invalid/debian']);
  assert.equal(hostMirrorFor('debian', sources, { id: 'debian', idLike: [] }), 'http://one.invalid/debian');
  assert.equal(hostMirrorFor('debian', sources, { id: 'ubuntu', idLike: [] }), undefined, 'only for the same distribution');
});

test('security and updates suites are never the main mirror', () => {
  const sources = [
    { uri: 'http://sec.invalid/debian-security', suites: ['bookworm-security'], components: ['main'], file: 'x' },
    { uri: 'http://main.invalid/debian/', suites: ['bookworm'], components: ['main'], file: 'x' },
  ];
  assert.equal(hostMirrorFor('debian', sources, { id: 'debian', idLike: [] }), 'http://main.invalid/debian');
});

test('os-release is parsed with quotes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-os-'));
  writeFileSync(join(dir, 'os-release'), 'NAME="Debian GNU/Linux"\nID=debian\nVERSION_CODENAME=bookworm\nID_LIKE="a b"\n');
  assert.deepEqual(readOsRelease(join(dir, 'os-release')), { id: 'debian', idLike: ['a', 'b'], codename: 'bookworm' });
});

test('architecture aliases map to the distribution’s names; unknown ones do not', () => {
  assert.equal(canonicalArchitecture(DISTRIBUTIONS.debian, 'aarch64'), 'arm64');
  assert.equal(canonicalArchitecture(DISTRIBUTIONS.debian, 'amd64'), 'amd64');
  assert.equal(canonicalArchitecture(DISTRIBUTIONS.debian, 'sparc'), undefined);
  assert.equal(findDistribution('Debian')?.name, 'debian');
  assert.deepEqual(DISTRIBUTIONS.debian.mergedUsrLinks('bookworm', 'amd64'), ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']);
  assert.deepEqual(DISTRIBUTIONS.debian.mergedUsrLinks('bookworm', 'arm64'), ['bin', 'sbin', 'lib']);
});

test('the Arch family: five distributions, their architectures, aliases and mirrors', () => {
  const expect: [string, string[], string | undefined][] = [
    ['arch', ['x86_64'], 'https://geo.mirror.pkgbuild.com/$repo/os/$arch'],
    ['alarm', ['aarch64', 'armv7h'], 'http://mirror.archlinuxarm.org/$arch/$repo'],
    ['arch32', ['i686', 'pentium4', 'i486'], 'https://mirror.archlinux32.org/$arch/$repo'],
    ['loongarch', ['loong64'], undefined],
    ['archlinuxriscv', ['riscv64'], 'https://riscv.mirror.pkgbuild.com/repo/$repo'],
  ];
  for (const [alias, arches, mirror] of expect) {
    const d = findDistribution(alias);
    assert.ok(d, alias);
    assert.equal(d.format, 'pacman');
    assert.deepEqual(Object.keys(d.architectures), arches);
    assert.equal(d.defaultMirror(arches[0] as string), mirror);
    assert.ok(d.keyringPackages?.length, `${alias} has a keyring package`);
    assert.deepEqual(d.baseSets?.minimal, ['base']);
  }
  const loong = findDistribution('loongarchlinux');
  assert.equal(loong && canonicalArchitecture(loong, 'loongarch64'), 'loong64');
});
