/**
 * The records written beside the outputs: NAME.manifest.json and
 * NAME.spdx.json. The installed packages are read from the tree's own
 * package database first (a writer may take the tree away); the records are
 * made once the outputs are complete, with their sizes and checksums.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { FormatName } from '../catalog/index.ts';
import type { InstalledPackage, PackageFormat, PlannedPackage } from '../formats/types.ts';
import type { Emit } from '../util/events.ts';
import { buildManifest, cyclonedxPath, fileDigest, manifestPath, sbomPath, type Manifest, type ManifestOutput } from './manifest.ts';
import { buildCycloneDx } from './sbom-cyclonedx.ts';
import { buildSbom } from './sbom.ts';
import type { OutputRecord, Written } from './write.ts';

export interface ImageFacts {
  root: string;
  /** The plan's format's reading of the tree's package database (PackageFormat.inventory). */
  inventory: PackageFormat<never, never>['inventory'];
  plan: { format: FormatName; packages: PlannedPackage[] };
  kilnVersion: string;
  /** The output stage's key. */
  outputKey: string;
  image: Manifest['image'];
  config: Record<string, unknown>;
  /** Who supplies the packages (the distribution's name), for the SBOM. */
  supplier: string;
  sourceDateEpoch: number;
  /** Where SOURCE_DATE_EPOCH came from (build.source-date-epoch's origin). */
  sourceDateEpochFrom: string;
  /** The mirrors the packages came from, as resolved. */
  mirrors: string[];
  /** What the manifest says of kiln.lock. */
  lock?: Manifest['lock'];
  directory: string;
  name: string;
  /** The JSON fragments hooks left for the manifest, read when the records are made. */
  fragments(): Promise<Record<string, unknown>>;
  emit: Emit;
}

/** Reads what the records need from the tree now, and returns the function that makes them from the written outputs. */
export async function imageRecords(facts: ImageFacts): Promise<(written: Written[]) => Promise<OutputRecord[]>> {
  const installed = await readInventory(facts);
  return async (written) => {
    const described: ManifestOutput[] = [];
    for (const o of written) {
      const digest = (await stat(o.tmp)).isDirectory() ? undefined : await fileDigest(o.tmp);
      described.push({ file: basename(o.final), format: o.format, size: digest?.size ?? null, sha256: digest?.sha256 ?? null, ...(o.details ? { details: o.details } : {}) });
    }
    const sbomFile = sbomPath(facts.directory, facts.name);
    const cyclonedxFile = cyclonedxPath(facts.directory, facts.name);
    const manifest = buildManifest(
      {
        kilnVersion: facts.kilnVersion,
        key: facts.outputKey,
        image: facts.image,
        config: facts.config,
        sourceDateEpoch: facts.sourceDateEpoch,
        sourceDateEpochFrom: facts.sourceDateEpochFrom,
        mirrors: facts.mirrors,
        lock: facts.lock,
        installed,
        planned: facts.plan.packages,
        fragments: await facts.fragments(),
      },
      described,
      basename(sbomFile),
      basename(cyclonedxFile),
    );
    const sbom = buildSbom(manifest, facts.plan.format, facts.supplier);
    return [
      { final: manifestPath(facts.directory, facts.name), content: JSON.stringify(manifest, null, 2) + '\n' },
      { final: sbomFile, content: JSON.stringify(sbom, null, 2) + '\n' },
      // Both SBOMs from the one inventory (the manifest's packages, read once from the tree).
      { final: cyclonedxFile, content: JSON.stringify(buildCycloneDx(manifest, facts.plan.format, facts.supplier), null, 2) + '\n' },
    ];
  };
}

/** The packages in the finished tree, from its own package database. */
async function readInventory({ inventory, root, emit }: ImageFacts): Promise<InstalledPackage[]> {
  const warn = (message: string) => emit({ kind: 'log', level: 'warn', source: 'manifest', message });
  return inventory(root, warn).catch((err: Error) => {
    emit({ kind: 'log', level: 'warn', message: `the manifest lists no packages: the image's package database cannot be read (${err.message})` });
    return [];
  });
}
