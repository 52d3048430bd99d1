/** The CycloneDX 1.6 SBOM: valid against the official schema, the same inventory as the SPDX one, the same document for the same image on every machine. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCycloneDx, buildManifest, buildSbom } from '../../src/outputs/index.ts';
import { derivedUuid } from '../../src/outputs/sbom-cyclonedx.ts';
import { cyclonedxProblems } from '../helpers/cyclonedx.ts';
import { TEST_IMAGE_FACTS } from '../helpers/image-facts.ts';

const facts = {
  ...TEST_IMAGE_FACTS,
  mirrors: ['http://127.0.0.1:9/debian'],
  installed: [
    { name: 'coreutils', version: '9.1-1', architecture: 'amd64', source: 'coreutils', licenses: ['GPL-3+', 'BSD-4-clause'] },
    { name: 'libc6', version: '2.36-9', architecture: 'amd64', source: 'glibc', licenses: [], homepage: 'https://www.gnu.org/software/libc/' },
    { name: 'bison', version: '2:3.8.2+dfsg-1', architecture: 'amd64', source: 'bison', licenses: ['GPL-3+ with Bison exception'] },
  ],
  planned: [
    { name: 'coreutils', version: '9.1-1', architecture: 'amd64', size: 2_900_000, sha256: 'c'.repeat(64), urls: ['http://127.0.0.1:9/debian/pool/c.deb'], reason: 'base set' },
    { name: 'libc6', version: '2.36-9', architecture: 'amd64', size: 2_700_000, sha256: 'd'.repeat(64), urls: ['http://127.0.0.1:9/debian/pool/l.deb'], reason: 'base set' },
  ],
};
const outputs = [{ file: 'image.tar', format: 'tar', size: 123, sha256: 'a'.repeat(64) }];
const NO_CONTENTS = { files: [], dependencies: new Map<string, string[]>() };

type Component = { name: string; purl: string; version: string; licenses?: unknown[]; hashes?: { alg: string; content: string }[] };
type Bom = { serialNumber: string; metadata: { timestamp: string }; components: Component[]; dependencies: { ref: string; dependsOn: string[] }[] };

test('the CycloneDX SBOM is valid CycloneDX 1.6 (the official schema), with purls, licenses and hashes; a broken one is caught', () => {
  const m = buildManifest(facts, outputs, 'image.spdx.json', 'image.cdx.json');
  assert.equal(m.cyclonedx, 'image.cdx.json');
  const bom = buildCycloneDx(m, NO_CONTENTS, 'deb', 'Debian') as unknown as Bom;
  assert.deepEqual(cyclonedxProblems(bom), []);
  const coreutils = bom.components.find((c) => c.name === 'coreutils');
  assert.equal(coreutils?.purl, 'pkg:deb/debian/coreutils@9.1-1?arch=amd64');
  assert.deepEqual(coreutils?.licenses, [{ expression: 'GPL-3.0-or-later AND BSD-4-Clause' }]);
  assert.deepEqual(coreutils?.hashes, [{ alg: 'SHA-256', content: 'c'.repeat(64) }]);
  assert.deepEqual(bom.components.find((c) => c.name === 'bison')?.licenses, [{ license: { name: 'GPL-3+ with Bison exception' } }], 'a name with no SPDX id, as written');
  assert.equal(bom.components.find((c) => c.name === 'bison')?.purl, 'pkg:deb/debian/bison@2%3A3.8.2%2Bdfsg-1?arch=amd64');
  assert.equal(bom.metadata.timestamp, '2023-11-14T22:13:20Z', 'SOURCE_DATE_EPOCH');
  assert.match(bom.serialNumber, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(bom.dependencies[0]?.dependsOn.length, 3);
  assert.deepEqual(bom.dependencies.slice(1).map((d) => d.dependsOn), [[], [], []], 'no graph given: each package known to depend on nothing listed');
  // The schema and the reference checks catch what they should.
  assert.notDeepEqual(cyclonedxProblems({ ...bom, specVersion: 1.6 }), []);
  assert.notDeepEqual(cyclonedxProblems({ ...bom, dependencies: [{ ref: 'image', dependsOn: ['nothing'] }] }), []);
  assert.notDeepEqual(cyclonedxProblems({ ...bom, components: [{ ...bom.components[0], hashes: [{ alg: 'SHA-256', content: 'xyz' }] }] }), []);
});

test('both SBOMs list the same packages; the same image gives the same CycloneDX document, another key another serial number', () => {
  const m = buildManifest(facts, outputs, 'image.spdx.json', 'image.cdx.json');
  const bom = buildCycloneDx(m, NO_CONTENTS, 'deb', 'Debian') as unknown as Bom;
  const spdx = buildSbom(m, NO_CONTENTS, 'deb', 'Debian') as { packages: { name: string; versionInfo: string }[] };
  assert.deepEqual(bom.components.map((c) => `${c.name} ${c.version}`).sort(), spdx.packages.slice(1).map((p) => `${p.name} ${p.versionInfo}`).sort());
  const later = buildManifest(facts, outputs, 'image.spdx.json', 'image.cdx.json');
  assert.equal(JSON.stringify(buildCycloneDx(later, NO_CONTENTS, 'deb', 'Debian')), JSON.stringify(bom), 'no build time, no randomness');
  const other = buildCycloneDx(buildManifest({ ...facts, key: 'e'.repeat(64) }, outputs, 's', 'c'), NO_CONTENTS, 'deb', 'Debian') as unknown as Bom;
  assert.notEqual(other.serialNumber, bom.serialNumber);
  assert.equal(derivedUuid('x'), derivedUuid('x'));
});
