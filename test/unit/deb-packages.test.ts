import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePackages } from '../../src/formats/deb/packages.ts';
import { UserError } from '../../src/util/errors.ts';

const INDEX = `Package: libfoo1
Source: foo (1.2-1)
Version: 1.2-1+b1
Installed-Size: 120
Architecture: amd64
Multi-Arch: same
Priority: optional
Section: libs
Pre-Depends: libc6 (>= 2.34)
Depends: libbar2 | libbar1 (>= 1.0), zlib1g
Recommends: foo-data
Provides: libfoo (= 1.2), foo-virtual
Conflicts: libfoo0
Breaks: foo-tools (<< 1.2)
Replaces: libfoo0
Filename: pool/main/f/foo/libfoo1_1.2-1+b1_amd64.deb
Size: 34567
SHA256: 0a1b

Package: foo-data
Version: 1.2-1
Architecture: all
Essential: yes
Priority: required
Source: foo
`;

test('reads a package record from a Packages stanza', () => {
  const [lib, data] = parsePackages(INDEX, 'main/binary-amd64/Packages');
  assert.ok(lib && data);
  assert.equal(lib.name, 'libfoo1');
  assert.equal(lib.version, '1.2-1+b1');
  assert.equal(lib.architecture, 'amd64');
  assert.equal(lib.multiArch, 'same');
  assert.equal(lib.essential, false);
  assert.equal(lib.priority, 'optional');
  assert.equal(lib.section, 'libs');
  assert.deepEqual(lib.source, { name: 'foo', version: '1.2-1' });
  assert.equal(lib.installedSize, 120);
  assert.equal(lib.size, 34567);
  assert.equal(lib.filename, 'pool/main/f/foo/libfoo1_1.2-1+b1_amd64.deb');
  assert.equal(lib.sha256, '0a1b');
  assert.equal(lib.origin, 'main/binary-amd64/Packages');
  assert.deepEqual(lib.preDepends, [[{ name: 'libc6', op: '>=', version: '2.34' }]]);
  assert.deepEqual(lib.depends, [[{ name: 'libbar2' }, { name: 'libbar1', op: '>=', version: '1.0' }], [{ name: 'zlib1g' }]]);
  assert.deepEqual(lib.recommends, [[{ name: 'foo-data' }]]);
  assert.deepEqual(lib.provides, [{ name: 'libfoo', op: '=', version: '1.2' }, { name: 'foo-virtual' }]);
  assert.deepEqual(lib.conflicts, [{ name: 'libfoo0' }]);
  assert.deepEqual(lib.breaks, [{ name: 'foo-tools', op: '<<', version: '1.2' }]);
  assert.deepEqual(lib.replaces, [{ name: 'libfoo0' }]);
  assert.equal(lib.depends, lib.depends, 'parsed once');
  assert.equal(lib.stanza.get('Section'), 'libs');

  assert.equal(data.essential, true);
  assert.equal(data.priority, 'required');
  assert.equal(data.multiArch, 'no');
  assert.deepEqual(data.source, { name: 'foo', version: '1.2-1' });
  assert.deepEqual(data.depends, []);
  assert.equal(data.installedSize, 0);
});

test('a record serialises its plain fields to JSON', () => {
  const [, data] = parsePackages(INDEX);
  assert.deepEqual(JSON.parse(JSON.stringify(data)), {
    name: 'foo-data',
    version: '1.2-1',
    architecture: 'all',
    multiArch: 'no',
    essential: true,
    priority: 'required',
    section: '',
    source: { name: 'foo', version: '1.2-1' },
    installedSize: 0,
    size: 0,
    filename: '',
    sha256: '',
  });
});

test('defaults the source to the package itself', () => {
  const [pkg] = parsePackages('Package: a\nVersion: 1\nArchitecture: all\n');
  assert.deepEqual(pkg!.source, { name: 'a', version: '1' });
  assert.equal(pkg!.priority, 'optional');
});

test('a bad record is a UserError naming the package and its origin', () => {
  assert.throws(() => parsePackages('Version: 1\n', 'idx'), /a package record in idx has no Package field/);
  assert.throws(() => parsePackages('Package: a\n'), /package a has no Version field/);
  const [pkg] = parsePackages('Package: a\nVersion: 1\nDepends: b (>= )\n', 'idx');
  assert.throws(
    () => pkg!.depends,
    (error: unknown) => error instanceof UserError && error.message === 'package a in idx: bad Depends field',
  );
});
