/**
 * The Debian package set of the fake pacman repositories
 * (test/helpers/fake-arch-debian-set.ts): the closure of some roots in a
 * Debian index, with dependencies named as the pacman fixture names them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parsePackages } from '../../src/formats/deb/packages.ts';
import { debianSetPackages } from '../helpers/fake-arch-debian-set.ts';

const stanza = (name: string, fields: Record<string, string> = {}) =>
  [`Package: ${name}`, `Version: ${fields.Version ?? '1.0-1'}`, `Architecture: ${fields.Architecture ?? 'amd64'}`, `Filename: pool/${name}.deb`, 'Size: 10', `SHA256: ${'0'.repeat(64)}`, 'Installed-Size: 4',
    ...Object.entries(fields).filter(([k]) => k !== 'Version' && k !== 'Architecture').map(([k, v]) => `${k}: ${v}`)].join('\n');

const INDEX = parsePackages(
  [
    stanza('coreutils', { 'Pre-Depends': 'libc6 (>= 2.34), libacl1', Depends: 'debconf | debconf-2.0' }),
    stanza('libacl1', { Version: '2.3-1', Depends: 'libc6' }),
    stanza('libacl1', { Version: '2.4-1', Depends: 'libc6, libattr1' }),
    stanza('libattr1', { Depends: 'libc6, libattr1' }),
    stanza('cdebconf', { Provides: 'debconf-2.0' }),
    stanza('systemd', { Depends: 'libacl1, mount, base-files, dash | bash' }),
    stanza('mount', { Architecture: 'all', Depends: 'libmissing0 | libattr1' }),
    stanza('libc6'),
    stanza('dash'),
    stanza('base-files'),
    stanza('orphan', { Depends: 'nowhere' }),
  ].join('\n\n') + '\n',
);

describe('fake-arch Debian package set', () => {
  it('is the closure of the roots, one package each, depending on pacman names', () => {
    const set = debianSetPackages(INDEX, ['coreutils', 'systemd']);
    assert.deepEqual(set.map((p) => p.name), ['cdebconf', 'coreutils', 'libacl1', 'libattr1', 'mount', 'systemd']);
    const byName = new Map(set.map((p) => [p.name, p]));
    // libc6 is the fixture's glibc; a virtual package is its provider; versions are dropped.
    assert.deepEqual(byName.get('coreutils')?.depends, ['glibc', 'libacl1', 'cdebconf']);
    // base-files and dash have stand-ins of their own (filesystem, bash) and are not in the set.
    assert.deepEqual(byName.get('systemd')?.depends, ['libacl1', 'mount', 'filesystem', 'bash']);
    // The first alternative that exists; no dependency on itself.
    assert.deepEqual(byName.get('mount')?.depends, ['libattr1']);
    assert.deepEqual(byName.get('libattr1')?.depends, ['glibc']);
  });

  it('takes the newest version of a name and marks roots and arch-all packages', () => {
    const set = debianSetPackages(INDEX, ['coreutils', 'systemd']);
    const byName = new Map(set.map((p) => [p.name, p]));
    assert.equal(byName.get('libacl1')?.version, '2.4-1');
    assert.deepEqual(byName.get('libacl1')?.depends, ['glibc', 'libattr1']);
    assert.deepEqual(set.filter((p) => p.root).map((p) => p.name), ['coreutils', 'systemd']);
    assert.deepEqual(set.filter((p) => p.any).map((p) => p.name), ['mount']);
  });

  it('says which dependency nothing satisfies', () => {
    assert.throws(() => debianSetPackages(INDEX, ['orphan']), /nothing in the Debian index satisfies nowhere \(a dependency of orphan\)/);
    assert.throws(() => debianSetPackages(INDEX, ['absent']), /absent \(wanted by the set\) is not in the Debian index/);
  });
});
