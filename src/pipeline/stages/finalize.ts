/**
 * finalize: its hooks run last on the tree (the built-in ones empty the
 * machine id and remove random seeds), and they see $SOURCE_DATE_EPOCH, so
 * that keys it. After them, every time in the tree newer than
 * SOURCE_DATE_EPOCH is clamped to it (symlinks themselves, nothing
 * followed), so that every output agrees: the directory output as much as
 * the tar, which clamps on its own too, and the filesystems.
 */
import { clampTreeTimes } from '../../tree/index.ts';
import type { StageModule } from './types.ts';

export const finalize: StageModule<'finalize'> = {
  name: 'finalize',
  reads: { sourceDateEpoch: true },
  run: async () => {},
  afterHooks: async ({ root, job, emit }) => {
    const changed = clampTreeTimes(root, job.sourceDateEpoch);
    emit({ kind: 'log', level: 'debug', message: `clamped the times of ${changed} paths to SOURCE_DATE_EPOCH ${job.sourceDateEpoch}` });
  },
};
