/**
 * The image inventory both SBOMs are written from: the files no package
 * owns (owned paths resolved through the tree's own symlinks, the package
 * database listed as such, only regular files and symlinks, hashes streamed)
 * and the dependency graph, on a small Debian tree made here; both SBOMs
 * made from it are valid and carry the files and the graph.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { FORMATS } from '../../src/formats/index.ts';
import { debDependencies } from '../../src/formats/deb/installed-relations.ts';
import { buildCycloneDx, buildManifest, buildSbom } from '../../src/outputs/index.ts';
import { readImageInventory } from '../../src/outputs/image-inventory.ts';
import { bootTree } from './boot-tree.ts';
import { cyclonedxProblems } from '../helpers/cyclonedx.ts';
import { TEST_IMAGE_FACTS } from '../helpers/image-facts.ts';
import { spdxProblems } from '../helpers/spdx.ts';

const stanza = (name: string, version: string, more = '', status = 'install ok installed') =>
  `Package: ${name}\nStatus: ${status}\nArchitecture: amd64\nVersion: ${version}\n${more}`;

const STATUS = [
  stanza('base-files', '12.4'),
  stanza('libc6', '2.36-9', 'Source: glibc\nDepends: libgcc-s1\n'),
  stanza('libgcc-s1', '12.2.0-14', 'Depends: libc6 (>= 2.35)\n'),
  stanza('mawk', '1.3.4', 'Provides: awk\nPre-Depends: libc6 (>= 2.34)\n'),
  // gawk is not installed, mawk provides awk; libc6 is too old for the first alternative, base-files is the second.
  stanza('needs-awk', '1', 'Depends: gawk | awk, libc6 (>= 2.99) | base-files, needs-awk\n'),
  // An unversioned provision never satisfies a versioned requirement; a missing package adds nothing.
  stanza('exim', '4', 'Provides: mail-transport-agent\n'),
  stanza('needs-mta', '1', 'Depends: mail-transport-agent (>= 1)\nPre-Depends: not-there\n'),
  // Removed, its configuration kept: neither a package of the graph nor a provider.
  stanza('gone', '1', 'Provides: gawk\n', 'deinstall ok config-files'),
].join('\n');

const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'kiln');

function debianTree() {
  const t = bootTree({
    'var/lib/dpkg/status': STATUS,
    'var/lib/dpkg/info/base-files.list': '/.\n/usr\n/usr/bin\n/bin/sh\n/etc\n/etc/os-release\n',
    'var/lib/dpkg/info/libc6:amd64.list': '/usr/lib/libc.so.6\n',
    'usr/bin/sh': '#!/bin/sh (owned through /bin)\n',
    'etc/os-release': 'ID=debian\n',
    'usr/lib/libc.so.6': 'elf',
    'etc/passwd': 'root:x:0:0::/root:/bin/sh\n',
    'etc/big': big.toString(),
    'etc/shadow': 'root:$y$j9T$secret:19700::::::\n',
  });
  chmodSync(join(t.root, 'etc/shadow'), 0o640);
  symlinkSync('usr/bin', join(t.root, 'bin'));
  symlinkSync('/usr/share/zoneinfo/UTC', join(t.root, 'etc/localtime'));
  mkdirSync(join(t.root, 'etc/empty.d'));
  spawnSync('mkfifo', [join(t.root, 'etc/fifo')]);
  return t;
}

const sha = (algorithm: string, data: string | Buffer) => createHash(algorithm).update(data).digest('hex');

test('deb: Depends and Pre-Depends resolve to installed packages, alternatives in order, virtual names through Provides', () => {
  const t = debianTree();
  try {
    assert.deepEqual(Object.fromEntries(debDependencies(t.root)), {
      'base-files': [],
      exim: [],
      libc6: ['libgcc-s1'],
      'libgcc-s1': ['libc6'],
      mawk: ['libc6'],
      'needs-awk': ['base-files', 'mawk'],
      'needs-mta': [],
    });
  } finally {
    t.done();
  }
});

test('the image inventory lists every file no package owns and the package database, in tree order, with streamed hashes', async () => {
  const t = debianTree();
  try {
    const warnings: string[] = [];
    const image = await readImageInventory(t.root, FORMATS.deb, (m) => warnings.push(m));
    assert.deepEqual(warnings, []);
    assert.deepEqual(image.packages.map((p) => p.name), ['base-files', 'exim', 'libc6', 'libgcc-s1', 'mawk', 'needs-awk', 'needs-mta']);
    assert.deepEqual(
      image.files.map((f) => `${f.kind} ${f.path}`),
      [
        'unowned bin',
        'unowned etc/big',
        'unowned etc/localtime',
        'unowned etc/passwd',
        'package-database var/lib/dpkg/info/base-files.list',
        'package-database var/lib/dpkg/info/libc6:amd64.list',
        'package-database var/lib/dpkg/status',
      ],
      'usr/bin/sh is owned through /bin/sh; no directory, FIFO, owned file or file others may not read (etc/shadow) is listed',
    );
    const file = (path: string) => image.files.find((f) => f.path === path)!;
    assert.deepEqual(file('etc/big'), { path: 'etc/big', kind: 'unowned', size: big.length, sha1: sha('sha1', big), sha256: sha('sha256', big) });
    assert.deepEqual(file('bin'), { path: 'bin', kind: 'unowned', size: 7, sha1: sha('sha1', 'usr/bin'), sha256: sha('sha256', 'usr/bin'), target: 'usr/bin' });
    assert.equal(file('var/lib/dpkg/status').sha256, sha('sha256', STATUS));
    assert.deepEqual(image.dependencies.get('needs-awk'), ['base-files', 'mawk']);
  } finally {
    t.done();
  }
});

test('both SBOMs made from the inventory are valid and carry the files and the graph; the same tree gives the same bytes', async () => {
  const t = debianTree();
  try {
    const image = await readImageInventory(t.root, FORMATS.deb, () => {});
    const facts = { ...TEST_IMAGE_FACTS, mirrors: [], installed: image.packages, planned: [] };
    const m = buildManifest(facts, [{ file: 'image.tar', format: 'tar', size: 1, sha256: 'a'.repeat(64) }], 'image.spdx.json', 'image.cdx.json');
    type Spdx = { packages: { SPDXID: string; name: string; filesAnalyzed: boolean }[]; files: { SPDXID: string; fileName: string; checksums: unknown[]; comment: string }[]; relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[] };
    const spdx = buildSbom(m, image, 'deb', 'Debian') as unknown as Spdx;
    assert.deepEqual(spdxProblems(spdx), []);
    const id = (name: string) => spdx.packages.find((p) => p.name === name)!.SPDXID;
    const dependsOn = spdx.relationships.filter((r) => r.relationshipType === 'DEPENDS_ON').map((r) => `${r.spdxElementId} ${r.relatedSpdxElement}`);
    assert.deepEqual(dependsOn.filter((r) => r.startsWith(`${id('needs-awk')} `)), [`${id('needs-awk')} ${id('base-files')}`, `${id('needs-awk')} ${id('mawk')}`]);
    assert.equal(dependsOn.length, 5);
    const passwd = spdx.files.find((f) => f.fileName === './etc/passwd')!;
    assert.deepEqual(passwd.checksums, [{ algorithm: 'SHA1', checksumValue: sha('sha1', 'root:x:0:0::/root:/bin/sh\n') }, { algorithm: 'SHA256', checksumValue: sha('sha256', 'root:x:0:0::/root:/bin/sh\n') }]);
    assert.match(passwd.comment, /no package owns/);
    assert.match(spdx.files.find((f) => f.fileName === './var/lib/dpkg/status')!.comment, /package database \(deb\)/);
    assert.ok(spdx.relationships.some((r) => r.spdxElementId === spdx.packages[0]!.SPDXID && r.relationshipType === 'CONTAINS' && r.relatedSpdxElement === passwd.SPDXID));
    assert.equal(spdx.packages[0]!.filesAnalyzed, true);
    // The checks catch a file without SHA-1, a verification code that is not the files', a file id no element has.
    const noSha1 = structuredClone(spdx);
    noSha1.files[0]!.checksums = noSha1.files[0]!.checksums.slice(1);
    assert.notDeepEqual(spdxProblems(noSha1), []);
    const changed = structuredClone(spdx);
    (changed.files[0]!.checksums[0] as { checksumValue: string }).checksumValue = '0'.repeat(40);
    assert.ok(spdxProblems(changed).some((p) => /packageVerificationCode/.test(p)), spdxProblems(changed).join('\n'));

    type Bom = { components: { type: string; name: string; 'bom-ref': string; hashes: { alg: string }[]; properties: { name: string; value: string }[] }[]; dependencies: { ref: string; dependsOn: string[] }[] };
    const bom = buildCycloneDx(m, image, 'deb', 'Debian') as unknown as Bom;
    assert.deepEqual(cyclonedxProblems(bom), []);
    const files = bom.components.filter((c) => c.type === 'file');
    assert.deepEqual(files.map((f) => f.name), image.files.map((f) => `/${f.path}`));
    assert.deepEqual(files.find((f) => f.name === '/bin')?.properties, [{ name: 'kiln:file', value: 'unowned' }, { name: 'kiln:symlink-target', value: 'usr/bin' }]);
    assert.deepEqual(files[0]!.hashes.map((h) => h.alg), ['SHA-1', 'SHA-256']);
    const ref = (name: string) => bom.components.find((c) => c.name === name)!['bom-ref'];
    assert.deepEqual(bom.dependencies.find((d) => d.ref === ref('needs-awk'))?.dependsOn, [ref('base-files'), ref('mawk')]);
    assert.deepEqual(bom.dependencies.find((d) => d.ref === ref('libc6'))?.dependsOn, [ref('libgcc-s1')]);

    const again = await readImageInventory(t.root, FORMATS.deb, () => {});
    assert.equal(JSON.stringify(buildSbom(m, again, 'deb', 'Debian')), JSON.stringify(spdx));
    assert.equal(JSON.stringify(buildCycloneDx(m, again, 'deb', 'Debian')), JSON.stringify(bom));
  } finally {
    t.done();
  }
});
