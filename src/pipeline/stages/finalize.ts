/**
 * finalize: no work of its own. Its hooks run last on the tree (the built-in
 * ones empty the machine id and remove random seeds), and they see
 * $SOURCE_DATE_EPOCH, so that keys it.
 */
import type { StageModule } from './types.ts';

export const finalize: StageModule<'finalize'> = {
  name: 'finalize',
  reads: { sourceDateEpoch: true },
  run: async () => {},
};
