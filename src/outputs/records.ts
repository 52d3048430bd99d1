/**
 * The records written beside the outputs: NAME.manifest.json, NAME.spdx.json
 * and NAME.cdx.json. What the image holds (its packages from the tree's own
 * package database, their dependency graph, the files no package owns) is
 * read first, once (a writer may take the tree away); the records are made
 * once the outputs are complete, with their sizes and checksums.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { FormatName } from '../catalog/index.ts';
import type { PlannedPackage } from '../formats/types.ts';
import type { Emit } from '../util/events.ts';
import { readImageInventory, type InventoryFormat } from './image-inventory.ts';
import { buildManifest, cyclonedxPath, fileDigest, manifestPath, sbomPath, type Manifest, type ManifestOutput } from './manifest.ts';
import { buildCycloneDx } from './sbom-cyclonedx.ts';
import { buildSbom } from './sbom.ts';
import type { OutputRecord, Written } from './write.ts';

export interface ImageFacts {
  root: string;
  /** The plan's format's reading of the tree's package database (its inventory, owned files and relations). */
  packageDatabase: InventoryFormat;
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
  const warn = (message: string) => facts.emit({ kind: 'log', level: 'warn', source: 'manifest', message });
  const image = await readImageInventory(facts.root, facts.packageDatabase, warn);
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
        installed: image.packages,
        planned: facts.plan.packages,
        fragments: await facts.fragments(),
      },
      described,
      basename(sbomFile),
      basename(cyclonedxFile),
    );
    const sbom = buildSbom(manifest, image, facts.plan.format, facts.supplier);
    return [
      { final: manifestPath(facts.directory, facts.name), content: JSON.stringify(manifest, null, 2) + '\n' },
      { final: sbomFile, content: JSON.stringify(sbom, null, 2) + '\n' },
      // Both SBOMs from the one inventory (the manifest's packages, read once from the tree).
      { final: cyclonedxFile, content: JSON.stringify(buildCycloneDx(manifest, image, facts.plan.format, facts.supplier), null, 2) + '\n' },
    ];
  };
}
