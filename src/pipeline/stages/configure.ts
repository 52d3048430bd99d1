/**
 * configure: the package format's own configuration of what unpack left
 * (maintainer scripts, alpm hooks, triggers). After its hooks, the times its
 * scripts left newer than SOURCE_DATE_EPOCH (unpack's key covers it) are
 * clamped, as finalize clamps them again at the end: the configure
 * checkpoint, which every later one is stored on top of, already holds them
 * clamped, so finalize's holds only what the later stages touched.
 */
import { clampTreeTimes } from '../../tree/index.ts';
import type { StageModule } from './types.ts';

export const configure: StageModule<'configure'> = {
  name: 'configure',
  reads: {},
  run: ({ installer }) => installer.configure(),
  afterHooks: async ({ root, job, emit }) => {
    const changed = clampTreeTimes(root, job.sourceDateEpoch);
    emit({ kind: 'log', level: 'debug', message: `clamped the times of ${changed} paths to SOURCE_DATE_EPOCH ${job.sourceDateEpoch}` });
  },
};
