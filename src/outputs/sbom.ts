/**
 * An SPDX 2.3 SBOM (JSON) of an image: the image as one package that
 * CONTAINS every installed package, each with its version, package URL,
 * download location and checksum, and its declared license as an SPDX
 * expression where the distribution's license names map to SPDX ids (a
 * LicenseRef carrying the distribution's own words where they do not);
 * each package DEPENDS_ON the installed packages its dependencies resolve
 * to; the image also CONTAINS every file no package owns and those of the
 * package database, as SPDX files with SHA-1 and SHA-256 (the image
 * inventory, image-inventory.ts), so its files are analysed and its
 * verification code is that of the files listed.
 */
import { createHash } from 'node:crypto';
import licenseIds from 'spdx-license-ids/index.json' with { type: 'json' };
import type { FormatName } from '../catalog/index.ts';
import { FORMAT_FACTS } from '../formats/facts.ts';
import type { ImageFile, ImageInventory } from './image-inventory.ts';
import type { Manifest, ManifestPackage } from './manifest.ts';

const KNOWN = new Map((licenseIds as string[]).map((id) => [id.toLowerCase(), id]));

/** Debian's DEP-5 short names (and older Arch names) that are not SPDX ids themselves. */
const ALIASES: Record<string, string> = {
  'gpl-1': 'GPL-1.0-only',
  'gpl-1+': 'GPL-1.0-or-later',
  'gpl-2': 'GPL-2.0-only',
  'gpl-2+': 'GPL-2.0-or-later',
  'gpl-3': 'GPL-3.0-only',
  'gpl-3+': 'GPL-3.0-or-later',
  'lgpl-2': 'LGPL-2.0-only',
  'lgpl-2+': 'LGPL-2.0-or-later',
  'lgpl-2.1': 'LGPL-2.1-only',
  'lgpl-2.1+': 'LGPL-2.1-or-later',
  'lgpl-3': 'LGPL-3.0-only',
  'lgpl-3+': 'LGPL-3.0-or-later',
  'agpl-3': 'AGPL-3.0-only',
  'agpl-3+': 'AGPL-3.0-or-later',
  'gfdl-1.2+': 'GFDL-1.2-or-later',
  'gfdl-1.3+': 'GFDL-1.3-or-later',
  gpl2: 'GPL-2.0-only',
  gpl3: 'GPL-3.0-only',
  lgpl2: 'LGPL-2.0-only',
  'lgpl2.1': 'LGPL-2.1-only',
  lgpl3: 'LGPL-3.0-only',
  expat: 'MIT',
  'bsd-2-clause': 'BSD-2-Clause',
  'bsd-3-clause': 'BSD-3-Clause',
  'bsd-4-clause': 'BSD-4-Clause',
  'apache-2': 'Apache-2.0',
  'mpl-2': 'MPL-2.0',
  'mpl-1.1': 'MPL-1.1',
  zlib: 'Zlib',
  isc: 'ISC',
  'artistic-2': 'Artistic-2.0',
  'public-domain': '',
  pd: '',
};

/** One license id in SPDX's spelling, or undefined when it is not one. */
function spdxId(name: string): string | undefined {
  const lower = name.toLowerCase();
  const alias = ALIASES[lower];
  if (alias !== undefined) return alias || undefined;
  return KNOWN.get(lower);
}

/**
 * A distribution's license text as an SPDX expression: `A or B`, `A and B`,
 * `A, B` (DEP-5's "and") and parentheses are understood; any name that is not
 * an SPDX id makes the whole a LicenseRef.
 */
export function licenseExpression(name: string): { expression: string } | { ref: string } {
  const tokens = name.trim().split(/\s*(\(|\)|,|\s+or\s+|\s+and\s+|\s+with\s+)\s*/i).filter((t) => t !== '' && t !== undefined);
  const out: string[] = [];
  for (const token of tokens) {
    const word = token.trim().toLowerCase();
    if (token === '(' || token === ')') out.push(token);
    else if (word === 'or') out.push('OR');
    else if (word === 'and' || word === ',') out.push('AND');
    else if (word === 'with') out.push('WITH');
    else {
      const id = spdxId(token.trim());
      if (!id) return { ref: `LicenseRef-${name.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'unknown'}` };
      out.push(id);
    }
  }
  if (!out.length || out.includes('WITH')) return { ref: `LicenseRef-${name.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'unknown'}` };
  return { expression: out.join(' ').replace(/\( /g, '(').replace(/ \)/g, ')') };
}

interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  downloadLocation: string;
  filesAnalyzed: boolean;
  licenseConcluded: string;
  licenseDeclared: string;
  copyrightText: string;
  supplier?: string;
  homepage?: string;
  primaryPackagePurpose?: string;
  checksums?: { algorithm: string; checksumValue: string }[];
  externalRefs?: { referenceCategory: string; referenceType: string; referenceLocator: string }[];
  comment?: string;
  sourceInfo?: string;
}

/** The package URL of an installed package: pkg:deb/debian/NAME@VERSION?arch=ARCH, pkg:alpm/archlinux/... */
export function purl(format: FormatName, distribution: string, p: Pick<ManifestPackage, 'name' | 'version' | 'architecture'>): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%3A/gi, '%3A');
  return `pkg:${FORMAT_FACTS[format].purlType}/${enc(distribution)}/${enc(p.name)}@${enc(p.version)}?arch=${enc(p.architecture)}`;
}

function spdxRef(...parts: string[]): string {
  return `SPDXRef-${parts.join('-').replace(/[^A-Za-z0-9.-]+/g, '-')}`;
}

/** What the SBOMs take from the image inventory besides the manifest's packages. */
export type SbomContents = Pick<ImageInventory, 'files' | 'dependencies'>;

/** What a listed file is, in words, for the SBOMs. */
export function fileComment(f: ImageFile, format: FormatName): string {
  const what = f.kind === 'unowned' ? 'no package owns this file (a package script, a hook, an overlay or kiln made it)' : `part of the package database (${format})`;
  return f.target === undefined ? what : `${what}; a symbolic link to ${f.target}, its checksums those of the link's target text`;
}

/** The package verification code (SPDX 2.3 clause 7.9) of the listed files: SHA-1 of their sorted SHA-1s. */
function verificationCode(files: readonly ImageFile[]): string {
  return createHash('sha1').update(files.map((f) => f.sha1).sort().join('')).digest('hex');
}

export function buildSbom(manifest: Manifest, contents: SbomContents, format: FormatName, supplier: string): Record<string, unknown> {
  const extracted = new Map<string, string>();
  const declared = (p: ManifestPackage): string => {
    if (!p.licenses.length) return 'NOASSERTION';
    const parts = p.licenses.map((l) => {
      const r = licenseExpression(l);
      if ('expression' in r) return r.expression.includes(' ') ? `(${r.expression})` : r.expression;
      extracted.set(r.ref, l);
      return r.ref;
    });
    const unique = [...new Set(parts)];
    return unique.length === 1 ? unique[0]!.replace(/^\((.*)\)$/, '$1') : unique.join(' AND ');
  };
  const imageId = spdxRef('Image', manifest.image.name);
  const image: SpdxPackage = {
    SPDXID: imageId,
    name: manifest.image.name,
    versionInfo: manifest.key.slice(0, 12),
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: contents.files.length > 0,
    ...(contents.files.length ? { packageVerificationCode: { packageVerificationCodeValue: verificationCode(contents.files) } } : {}),
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'OPERATING-SYSTEM',
    checksums: manifest.outputs.filter((o) => o.sha256).map((o) => ({ algorithm: 'SHA256', checksumValue: o.sha256 as string })).slice(0, 1),
    comment: `${manifest.image.distribution} ${manifest.image.release} ${manifest.image.architecture}, built by kiln ${manifest.kiln.version}`,
  };
  const seen = new Set<string>();
  const unique = (id: string) => {
    while (seen.has(id)) id += '-x';
    seen.add(id);
    return id;
  };
  const byName = new Map<string, string>();
  const packages = manifest.packages.map((p): SpdxPackage => {
    const id = unique(spdxRef('Package', p.name, p.version, p.architecture));
    if (!byName.has(p.name)) byName.set(p.name, id);
    return {
      SPDXID: id,
      name: p.name,
      versionInfo: p.version,
      downloadLocation: p.url ?? 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: declared(p),
      copyrightText: 'NOASSERTION',
      supplier: `Organization: ${supplier}`,
      ...(p.homepage && /^https?:\/\//.test(p.homepage) ? { homepage: p.homepage } : {}),
      ...(p.sha256 ? { checksums: [{ algorithm: 'SHA256', checksumValue: p.sha256 }] } : {}),
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl(format, manifest.image.distribution, p) }],
      ...(p.source !== p.name ? { sourceInfo: `built from the ${FORMAT_FACTS[format].sourceKind} ${p.source}` } : {}),
    };
  });
  const files = contents.files.map((f) => ({
    SPDXID: unique(spdxRef('File', f.path)),
    fileName: `./${f.path}`,
    checksums: [{ algorithm: 'SHA1', checksumValue: f.sha1 }, { algorithm: 'SHA256', checksumValue: f.sha256 }],
    licenseConcluded: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    comment: fileComment(f, format),
  }));
  const dependsOn = packages.flatMap((p) =>
    (contents.dependencies.get(p.name) ?? []).flatMap((name) => {
      const on = byName.get(name);
      return on ? [{ spdxElementId: p.SPDXID, relationshipType: 'DEPENDS_ON', relatedSpdxElement: on }] : [];
    }),
  );
  const created = new Date(manifest.sourceDateEpoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: manifest.image.name,
    documentNamespace: `https://spdx.kiln.invalid/${encodeURIComponent(manifest.image.name)}-${manifest.key}`,
    creationInfo: { created, creators: [`Tool: kiln-${manifest.kiln.version}`], comment: 'created is the image\'s SOURCE_DATE_EPOCH, so that the same image has the same SBOM' },
    packages: [image, ...packages],
    ...(files.length ? { files } : {}),
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId },
      ...packages.map((p) => ({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: p.SPDXID })),
      ...files.map((f) => ({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: f.SPDXID })),
      ...dependsOn,
    ],
    ...(extracted.size
      ? { hasExtractedLicensingInfos: [...extracted].map(([licenseId, text]) => ({ licenseId, name: text, extractedText: `The distribution names this license "${text}"; it has no SPDX identifier.` })) }
      : {}),
  };
}
