import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildManifest, buildSbom, cyclonedxPath, licenseExpression, manifestPath, outputsUpToDate, sbomPath, type Manifest } from '../../src/outputs/index.ts';
import { BuildError } from '../../src/util/errors.ts';
import { spdxProblems } from '../helpers/spdx.ts';
import { parseSize } from '../../src/util/size.ts';
import { formatSummary } from '../../src/cli/inspect.ts';

const facts = {
  kilnVersion: '0.0.0-test',
  key: 'f'.repeat(64),
  image: { name: 'image', distribution: 'debian', release: 'bookworm', architecture: 'amd64', board: null, profiles: ['dev'] },
  config: { 'system.hostname': 'box', 'system.root-password-hash': '(secret)' },
  sourceDateEpoch: 1_700_000_000,
  sourceDateEpochFrom: '$SOURCE_DATE_EPOCH',
  mirrors: ['http://127.0.0.1:9/debian'],
  installed: [
    { name: 'coreutils', version: '9.1-1', architecture: 'amd64', source: 'coreutils', installedSize: 18_000_000, licenses: ['GPL-3+', 'GPL-3+ and BSD-4-clause-UC'] },
    { name: 'libc6', version: '2.36-9', architecture: 'amd64', source: 'glibc', installedSize: 13_000_000, licenses: [] },
    { name: 'perl-base', version: '5.36.0-7', architecture: 'amd64', source: 'perl', installedSize: 7_800_000, licenses: ['GPL-1+ or Artistic', 'Expat'] },
    { name: 'hook-added', version: '1', architecture: 'all', source: 'hook-added', licenses: ['MIT'] },
  ],
  planned: [
    { name: 'coreutils', version: '9.1-1', architecture: 'amd64', size: 2_900_000, sha256: 'c'.repeat(64), urls: ['http://127.0.0.1:9/pool/c.deb'], reason: 'base set' },
    { name: 'libc6', version: '2.36-9', architecture: 'amd64', size: 2_700_000, sha256: 'd'.repeat(64), urls: ['http://127.0.0.1:9/pool/l.deb'], reason: 'coreutils depends on it' },
    { name: 'perl-base', version: '5.36.0-7', architecture: 'amd64', size: 1_500_000, sha256: 'e'.repeat(64), urls: ['http://127.0.0.1:9/pool/p.deb'], reason: 'base set' },
  ],
  fragments: { '10-ci.json': { ci: { job: 42 } }, '20-ci.json': { ci: { url: 'http://127.0.0.1/42' }, team: 'os' } },
};
const outputs = [{ file: 'image.tar', format: 'tar', size: 123, sha256: 'a'.repeat(64) }];
const NO_CONTENTS = { files: [], dependencies: new Map<string, string[]>() };

test('distribution license names become SPDX expressions, or LicenseRefs where they have no SPDX id', () => {
  assert.deepEqual(licenseExpression('GPL-2+'), { expression: 'GPL-2.0-or-later' });
  assert.deepEqual(licenseExpression('GPL-2+ or Artistic-2.0'), { expression: 'GPL-2.0-or-later OR Artistic-2.0' });
  assert.deepEqual(licenseExpression('LGPL-2.1+ and (MIT or BSD-3-clause)'), { expression: 'LGPL-2.1-or-later AND (MIT OR BSD-3-Clause)' });
  assert.deepEqual(licenseExpression('Expat'), { expression: 'MIT' });
  assert.deepEqual(licenseExpression('apache-2.0'), { expression: 'Apache-2.0' });
  assert.deepEqual(licenseExpression('GPL-3+ with Bison exception'), { ref: 'LicenseRef-GPL-3-with-Bison-exception' });
  assert.deepEqual(licenseExpression('public-domain'), { ref: 'LicenseRef-public-domain' });
});

test('the manifest joins the tree’s packages with the plan and merges the hooks’ fragments; kiln’s own keys are refused', () => {
  const m = buildManifest(facts, outputs, 'image.spdx.json');
  assert.equal(m.packages.find((p) => p.name === 'coreutils')?.sha256, 'c'.repeat(64));
  assert.equal(m.packages.find((p) => p.name === 'libc6')?.source, 'glibc');
  assert.equal(m.packages.find((p) => p.name === 'hook-added')?.url, undefined, 'a package no plan holds has no download facts');
  assert.deepEqual(m.ci, { job: 42, url: 'http://127.0.0.1/42' });
  assert.equal(m.team, 'os');
  assert.equal(m.config['system.root-password-hash'], '(secret)');
  assert.equal(m.sourceDateEpoch, 1_700_000_000, 'a number, as readers before sourceDateEpochFrom expect');
  assert.equal(m.sourceDateEpochFrom, '$SOURCE_DATE_EPOCH');
  assert.deepEqual(m.mirrors, ['http://127.0.0.1:9/debian']);
  assert.throws(() => buildManifest({ ...facts, fragments: { 'x.json': { mirrors: [] } } }, outputs, 's'), /sets "mirrors", which kiln writes itself/);
  assert.throws(() => buildManifest({ ...facts, fragments: { 'x.json': { packages: [] } } }, outputs, 's'), (e: unknown) => e instanceof BuildError && /sets "packages", which kiln writes itself/.test(e.message));
  assert.throws(() => buildManifest({ ...facts, fragments: { 'x.json': [1] } }, outputs, 's'), /expected a JSON object/);
  const summary = formatSummary(m, 2);
  assert.match(summary, /^packages: {2}4, 37\.0 MiB installed$/m);
  assert.match(summary, /largest packages:\n {2}coreutils +17\.2 MiB +46\.4% +9\.1-1 +\(GPL-3\+, GPL-3\+ and BSD-4-clause-UC\)\n {2}libc6 /);
});

test('the SBOM is a valid SPDX 2.3 document; a broken one is caught', () => {
  const m = buildManifest(facts, outputs, 'image.spdx.json');
  const sbom = buildSbom(m, NO_CONTENTS, 'deb', 'Debian') as Record<string, unknown> & { packages: Record<string, unknown>[]; relationships: Record<string, unknown>[] };
  assert.deepEqual(spdxProblems(sbom), []);
  const coreutils = sbom.packages.find((p) => p.name === 'coreutils')!;
  assert.equal(coreutils.licenseDeclared, 'GPL-3.0-or-later AND (GPL-3.0-or-later AND BSD-4-Clause-UC)');
  assert.deepEqual(coreutils.externalRefs, [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:deb/debian/coreutils@9.1-1?arch=amd64' }]);
  assert.equal(sbom.packages.find((p) => p.name === 'libc6')!.sourceInfo, 'built from the source package glibc');
  assert.equal(sbom.relationships.length, 1 + facts.installed.length);
  assert.equal(JSON.stringify(buildSbom(m, NO_CONTENTS, 'deb', 'Debian')), JSON.stringify(sbom), 'the same image makes the same SBOM');
  const broken = structuredClone(sbom);
  delete broken.packages[1]!.downloadLocation;
  broken.relationships.push({ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'CONTAINS', relatedSpdxElement: 'SPDXRef-nothing' });
  broken.packages[2]!.licenseDeclared = 'GPL-9.9-only';
  const found = spdxProblems(broken);
  assert.ok(found.some((p) => /downloadLocation/.test(p)), found.join('\n'));
  assert.ok(found.some((p) => /unknown element SPDXRef-nothing/.test(p)), found.join('\n'));
  assert.ok(found.some((p) => /"GPL-9\.9-only" .* neither an SPDX license id/.test(p)), found.join('\n'));
});

test('outputs are up to date only under the same key, with every output as written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-manifest-'));
  const tar = join(dir, 'image.tar');
  writeFileSync(tar, 'x'.repeat(123));
  const m: Manifest = buildManifest(facts, outputs, 'image.spdx.json');
  writeFileSync(manifestPath(dir, 'image'), JSON.stringify(m));
  assert.equal(outputsUpToDate(dir, 'image', [tar], facts.key), false, 'no SBOM');
  writeFileSync(sbomPath(dir, 'image'), '{}');
  assert.equal(outputsUpToDate(dir, 'image', [tar], facts.key), false, 'no CycloneDX SBOM');
  writeFileSync(cyclonedxPath(dir, 'image'), '{}');
  assert.equal(outputsUpToDate(dir, 'image', [tar], facts.key), true);
  assert.equal(outputsUpToDate(dir, 'image', [tar], 'e'.repeat(64)), false, 'another key');
  assert.equal(outputsUpToDate(dir, 'image', [tar, join(dir, 'image.tar.zst')], facts.key), false, 'an output it does not list');
  writeFileSync(tar, 'short');
  assert.equal(outputsUpToDate(dir, 'image', [tar], facts.key), false, 'an output changed since');
});

test('sizes for kiln cache prune --max-size', () => {
  assert.equal(parseSize('0'), 0);
  assert.equal(parseSize('500M'), 500 * 1024 ** 2);
  assert.equal(parseSize('1.5G'), 1.5 * 1024 ** 3);
  assert.equal(parseSize('200kib'), 200 * 1024);
  assert.throws(() => parseSize('lots'), /expected a size such as 500M/);
});
