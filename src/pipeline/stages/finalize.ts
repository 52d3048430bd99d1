/**
 * finalize: its hooks run last on the tree, and they see $SOURCE_DATE_EPOCH,
 * so that keys it. After them comes the normalisation (src/normalise/): the
 * tree's format's items, then the common ones, each logged at debug level
 * when it changed something. Last, every time in the tree newer than
 * SOURCE_DATE_EPOCH is clamped to it (symlinks themselves, nothing
 * followed), so that every output agrees: the directory output as much as
 * the tar, which clamps on its own too, and the filesystems.
 */
import { FORMATS } from '../../formats/index.ts';
import { hostState, normaliseTree } from '../../normalise/index.ts';
import { clampTreeTimes } from '../../tree/index.ts';
import type { StageModule } from './types.ts';

export const finalize: StageModule<'finalize'> = {
  name: 'finalize',
  reads: { sourceDateEpoch: true },
  run: async () => {},
  afterHooks: async ({ root, job, emit }) => {
    const ctx = { sourceDateEpoch: job.sourceDateEpoch, hostname: job.config['system.hostname'], host: hostState() };
    normaliseTree(root, FORMATS[job.plan.format].normalise, ctx, (line) => emit({ kind: 'log', level: 'debug', source: 'normalise', message: line }));
    const changed = clampTreeTimes(root, job.sourceDateEpoch);
    emit({ kind: 'log', level: 'debug', message: `clamped the times of ${changed} paths to SOURCE_DATE_EPOCH ${job.sourceDateEpoch}` });
  },
};
