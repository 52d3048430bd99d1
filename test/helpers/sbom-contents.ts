/**
 * What an SPDX and a CycloneDX SBOM of kiln say about an image's files and
 * package graph, in one shape, so that a test compares the two documents
 * and checks either against the image with the distribution's own tools.
 */

export interface SbomContentsView {
  /** Each listed file (its path with a leading `/`) with what it is and its SHA-256. */
  files: Map<string, { kind: string; sha256: string }>;
  /** Each package's name with the names of the packages it depends on, sorted. */
  dependsOn: Map<string, string[]>;
}

interface Spdx {
  packages: { SPDXID: string; name: string }[];
  files?: { SPDXID: string; fileName: string; comment?: string; checksums: { algorithm: string; checksumValue: string }[] }[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
}

export function spdxContents(doc: unknown): SbomContentsView {
  const d = doc as Spdx;
  const names = new Map(d.packages.slice(1).map((p) => [p.SPDXID, p.name]));
  const dependsOn = new Map([...names.values()].map((n) => [n, [] as string[]]));
  for (const r of d.relationships) if (r.relationshipType === 'DEPENDS_ON') dependsOn.get(names.get(r.spdxElementId)!)!.push(names.get(r.relatedSpdxElement)!);
  for (const list of dependsOn.values()) list.sort();
  const files = new Map(
    (d.files ?? []).map((f) => [
      f.fileName.slice(1),
      { kind: /^no package owns/.test(f.comment ?? '') ? 'unowned' : /package database/.test(f.comment ?? '') ? 'package-database' : '?', sha256: f.checksums.find((c) => c.algorithm === 'SHA256')!.checksumValue },
    ]),
  );
  return { files, dependsOn };
}

interface Bom {
  components: { type: string; name: string; 'bom-ref': string; hashes?: { alg: string; content: string }[]; properties?: { name: string; value: string }[] }[];
  dependencies: { ref: string; dependsOn?: string[] }[];
}

export function cyclonedxContents(doc: unknown): SbomContentsView {
  const b = doc as Bom;
  const names = new Map(b.components.filter((c) => c.type !== 'file').map((c) => [c['bom-ref'], c.name]));
  const dependsOn = new Map<string, string[]>();
  for (const d of b.dependencies) if (names.has(d.ref)) dependsOn.set(names.get(d.ref)!, (d.dependsOn ?? []).map((r) => names.get(r)!).sort());
  const files = new Map(
    b.components
      .filter((c) => c.type === 'file')
      .map((c) => [c.name, { kind: c.properties?.find((p) => p.name === 'kiln:file')?.value ?? '?', sha256: c.hashes?.find((h) => h.alg === 'SHA-256')?.content ?? '' }]),
  );
  return { files, dependsOn };
}
