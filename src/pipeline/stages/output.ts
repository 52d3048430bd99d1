/**
 * output: the image files (writeOutputs), with the manifest and the SBOM of
 * what was written; its hooks get the written files as $KILN_OUTPUTS.
 */
import { basename } from 'node:path';
import type { InstalledPackage } from '../../formats/types.ts';
import { buildManifest, buildSbom, fileDigest, manifestPath, sbomPath, writeOutputs, type ManifestOutput, type Written } from '../../outputs/index.ts';
import type { Emit } from '../../util/events.ts';
import type { BuildJob } from '../job.ts';
import { readFragments } from './fragments.ts';
import type { InstalledInventory, StageModule } from './types.ts';

export const output: StageModule<'output'> = {
  name: 'output',
  reads: {},
  async run({ job, root, inventory, emit, temporaries, fragments }) {
    const { config } = job;
    // Read before any writer runs: a directory output on disk moves the tree away.
    const installed = await readInventory(inventory, root, emit);
    const written = await writeOutputs({
      root,
      formats: config['output.format'],
      directory: job.outputDir,
      name: config['output.name'],
      sourceDateEpoch: job.sourceDateEpoch,
      rootOnTmpfs: config['build.workspace'] === 'tmpfs',
      temporaries,
      describe: async (outputs) => describeOutputs(job, installed, outputs, await readFragments(fragments)),
    });
    return { KILN_OUTPUTS: written.join(' ') };
  },
};

/** The packages in the finished tree, from its own package database, for the manifest. */
async function readInventory(inventory: InstalledInventory, root: string, emit: Emit): Promise<InstalledPackage[]> {
  const warn = (message: string) => emit({ kind: 'log', level: 'warn', source: 'manifest', message });
  return inventory(root, warn).catch((err: Error) => {
    emit({ kind: 'log', level: 'warn', message: `the manifest lists no packages: the image's package database cannot be read (${err.message})` });
    return [];
  });
}

/** The manifest and the SBOM of the outputs just written (checksums of their temporaries). */
async function describeOutputs(job: BuildJob, installed: InstalledPackage[], outputs: Written[], fragments: Record<string, unknown>) {
  const { config } = job;
  const described: ManifestOutput[] = [];
  for (const o of outputs) {
    const digest = o.format === 'directory' ? undefined : await fileDigest(o.tmp);
    described.push({ file: basename(o.final), format: o.format, size: digest?.size ?? null, sha256: digest?.sha256 ?? null });
  }
  const sbomFile = sbomPath(job.outputDir, config['output.name']);
  const manifest = buildManifest(
    {
      kilnVersion: job.kilnVersion,
      key: job.manifest.outputKey,
      image: job.manifest.image,
      config: job.manifest.config,
      sourceDateEpoch: job.sourceDateEpoch,
      installed,
      planned: job.plan.packages,
      fragments,
    },
    described,
    basename(sbomFile),
  );
  const sbom = buildSbom(manifest, job.plan.format, job.manifest.supplier);
  return [
    { final: manifestPath(job.outputDir, config['output.name']), content: JSON.stringify(manifest, null, 2) + '\n' },
    { final: sbomFile, content: JSON.stringify(sbom, null, 2) + '\n' },
  ];
}
