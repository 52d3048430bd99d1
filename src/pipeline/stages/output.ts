/**
 * output: the image files (writeOutputs), with the manifest and the SBOM of
 * what was written (imageRecords); its hooks get the written files as
 * $KILN_OUTPUTS. First the partitions' mount points and /etc/fstab go into
 * the tree (prepareDiskTree), so that every output agrees with the disk,
 * then the bootloader writes the ESP's files (installBoot, src/boot/).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { installBoot } from '../../boot/install.ts';
import { imageRecords, prepareDiskTree, writeOutputs } from '../../outputs/index.ts';
import { readFragments } from './fragments.ts';
import type { StageModule } from './types.ts';

export const output: StageModule<'output'> = {
  name: 'output',
  reads: {},
  async run({ job, root, packageDatabase, emit, temporaries, fragments }) {
    prepareDiskTree(root, job.config, job.imageDir, job.sourceDateEpoch, emit);
    if (job.config['disk.seed'] !== undefined) emit({ kind: 'log', level: 'warn', message: 'disk.seed is the old name of build.seed, which it sets: rename it to build.seed in the [build] section' });
    // The bootloader, kernels and initramfs go into the tree before any writer makes the partitions; raw boot code (GRUB for BIOS) waits in the output directory, as the writers' temporaries do, for the disk.
    const bootPieces = join(job.outputDir, `.${job.config['output.name']}.boot.kiln-tmp`);
    temporaries.add(bootPieces);
    try {
      const config = installBoot(root, job.config, job.machine, job.sourceDateEpoch, emit, bootPieces, job.imageDir);
      return await writeImage(config);
    } finally {
      rmSync(bootPieces, { recursive: true, force: true });
      temporaries.delete(bootPieces);
    }
    async function writeImage(config: typeof job.config) {
      // Read before any writer runs: a directory output on disk moves the tree away.
      const records = await imageRecords({
        ...job.manifest,
        root,
        packageDatabase,
        plan: job.plan,
        kilnVersion: job.kilnVersion,
        sourceDateEpoch: job.sourceDateEpoch,
        directory: job.outputDir,
        name: config['output.name'],
        fragments: () => readFragments(fragments),
        emit,
      });
      const written = await writeOutputs({
        root,
        formats: config['output.format'],
        directory: job.outputDir,
        name: config['output.name'],
        sourceDateEpoch: job.sourceDateEpoch,
        rootOnTmpfs: config['build.workspace'] === 'tmpfs',
        temporaries,
        records,
        config,
        imageDir: job.imageDir,
        machine: job.machine,
        architecture: config['distribution.architecture'],
        seed: config['build.seed'],
        emit,
      });
      return { KILN_OUTPUTS: written.join(' ') };
    }
  },
};
