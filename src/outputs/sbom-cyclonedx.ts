/**
 * A CycloneDX 1.6 SBOM (JSON) of an image, from the same inventory as the
 * SPDX one (the manifest's packages, read once from the tree's package
 * database): the image as the BOM's operating-system component, every
 * installed package a component with its package URL, declared licenses
 * (an SPDX expression where the distribution's names map to SPDX ids, else
 * the names as written), SHA-256 and download location where the plan knew
 * them. The timestamp is SOURCE_DATE_EPOCH and the serial number a UUID
 * derived from the image's identity (its name and stage key), so that the
 * same inputs give the same SBOM on every machine. The dependencies say
 * that the image depends on every package and each package on the
 * installed packages its dependencies resolve to (an empty list: none);
 * every file no package owns and those of the package database are
 * components of type file, with SHA-1 and SHA-256 and a kiln:file property
 * saying which they are (the image inventory, image-inventory.ts).
 */
import { createHash } from 'node:crypto';
import type { FormatName } from '../catalog/index.ts';
import { FORMAT_FACTS } from '../formats/facts.ts';
import type { Manifest, ManifestPackage } from './manifest.ts';
import { fileComment, licenseExpression, purl, type SbomContents } from './sbom.ts';

const IMAGE_REF = 'image';

/** A version-5-style UUID (SHA-1 replaced by SHA-256, the variant and version bits set) from `name`: the same name, the same UUID. */
export function derivedUuid(name: string): string {
  const b = createHash('sha256').update(`kiln-sbom:${name}`).digest().subarray(0, 16);
  b[6] = ((b[6] as number) & 0x0f) | 0x50;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

type Licenses = ({ expression: string } | { license: { name: string } })[];

/** One expression when every name maps to SPDX ids, else each name as the distribution writes it (CycloneDX takes one or the other). */
function licenses(p: ManifestPackage): Licenses | undefined {
  if (!p.licenses.length) return undefined;
  const parts = p.licenses.map((name) => ({ name, r: licenseExpression(name) }));
  if (parts.every((x) => 'expression' in x.r)) {
    const unique = [...new Set(parts.map((x) => (x.r as { expression: string }).expression))];
    return [{ expression: unique.length === 1 ? (unique[0] as string) : unique.map((e) => (e.includes(' ') ? `(${e})` : e)).join(' AND ') }];
  }
  return [...new Set(p.licenses)].map((name) => ({ license: { name } }));
}

export function buildCycloneDx(manifest: Manifest, contents: SbomContents, format: FormatName, supplier: string): Record<string, unknown> {
  const seen = new Set<string>();
  const byName = new Map<string, string>();
  const components = manifest.packages.map((p) => {
    const locator = purl(format, manifest.image.distribution, p);
    let ref = locator;
    while (seen.has(ref)) ref += '#';
    seen.add(ref);
    if (!byName.has(p.name)) byName.set(p.name, ref);
    const declared = licenses(p);
    return {
      type: 'library',
      'bom-ref': ref,
      supplier: { name: supplier },
      name: p.name,
      version: p.version,
      purl: locator,
      ...(declared ? { licenses: declared } : {}),
      ...(p.sha256 ? { hashes: [{ alg: 'SHA-256', content: p.sha256 }] } : {}),
      ...(p.url || (p.homepage && /^https?:\/\//.test(p.homepage))
        ? { externalReferences: [...(p.url ? [{ type: 'distribution', url: p.url }] : []), ...(p.homepage && /^https?:\/\//.test(p.homepage) ? [{ type: 'website', url: p.homepage }] : [])] }
        : {}),
      properties: [
        { name: 'kiln:architecture', value: p.architecture },
        ...(p.source !== p.name ? [{ name: `kiln:${FORMAT_FACTS[format].sourceKind.replace(/ /g, '-')}`, value: p.source }] : []),
      ],
    };
  });
  const files = contents.files.map((f) => ({
    type: 'file',
    'bom-ref': `file:/${f.path}`,
    name: `/${f.path}`,
    hashes: [{ alg: 'SHA-1', content: f.sha1 }, { alg: 'SHA-256', content: f.sha256 }],
    description: fileComment(f, format),
    properties: [{ name: 'kiln:file', value: f.kind }, ...(f.target !== undefined ? [{ name: 'kiln:symlink-target', value: f.target }] : [])],
  }));
  const image = manifest.outputs.find((o) => o.sha256);
  const timestamp = new Date(manifest.sourceDateEpoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${derivedUuid(`${manifest.image.name}:${manifest.key}`)}`,
    version: 1,
    metadata: {
      timestamp,
      tools: { components: [{ type: 'application', name: 'kiln', version: manifest.kiln.version }] },
      component: {
        type: 'operating-system',
        'bom-ref': IMAGE_REF,
        name: manifest.image.name,
        version: manifest.key.slice(0, 12),
        description: `${manifest.image.distribution} ${manifest.image.release} ${manifest.image.architecture}, built by kiln ${manifest.kiln.version}`,
        ...(image?.sha256 ? { hashes: [{ alg: 'SHA-256', content: image.sha256 }] } : {}),
      },
      properties: [{ name: 'kiln:timestamp', value: "the image's SOURCE_DATE_EPOCH, so that the same image has the same SBOM" }],
    },
    components: [...components, ...files],
    dependencies: [
      { ref: IMAGE_REF, dependsOn: components.map((c) => c['bom-ref']) },
      ...manifest.packages.map((p, i) => ({
        ref: components[i]!['bom-ref'],
        dependsOn: [...new Set((contents.dependencies.get(p.name) ?? []).flatMap((name) => byName.get(name) ?? []))],
      })),
    ],
  };
}
